/**
 * Complete checks of a llama model or LoRA adapter before node-llama-cpp sees it: llama.cpp aborts the
 * whole process on some malformed files, and a wrong shape found here gets an error the user can act on.
 */
import { basename } from "node:path";
import {
    ADAPTER_TYPE_LORA,
    BLOCK_TENSOR_KINDS,
    GENERAL_TYPE_ADAPTER,
    GENERAL_TYPE_MODEL,
    GgufKey,
    GgufValueType,
    LLAMA_ARCHITECTURE,
    TOKENIZER_MODEL_GPT2,
    TensorName,
    blockTensorName,
    ggmlTypeName,
    loraATensorName,
    loraBTensorName,
    parseBlockTensorName,
    parseLoraTensorName
} from "./constants.js";
import { GgufError } from "./errors.js";
import { metadataArray, metadataBool, metadataNumber, metadataString, metadataStringArray } from "./metadata.js";
import { DECODABLE_TYPES } from "./numeric.js";
import { readGguf } from "./reader.js";
import type { GgufFile, GgufTensorInfo } from "./types.js";
import { readLlamaHparams, type LlamaHparams } from "./llamaHparams.js";

export interface ValidateModelOptions {
    /** Also require every tensor to be decodable by `readTensorF32` (needed to train on the weights). Default false. */
    requireDecodable?: boolean;
}

/** One adapted weight. For token_embd, `in` is the vocabulary (rows looked up) and `out` is d. */
export interface LoraTargetShape {
    rank: number;
    in: number;
    out: number;
}

export interface LoraAdapterInfo {
    architecture: string;
    alpha: number; // adapter.lora.alpha; the update is scaled by alpha / rank (alpha 0: by 1)
    ranks: number[]; // distinct ranks, ascending
    targets: Record<string, LoraTargetShape>; // by base tensor name, e.g. "blk.0.attn_q.weight"
}

const WRONG_BASE_HINT = "maybe the adapter was trained for another base model?";

const formatDims = (dims: readonly number[]): string => `[${dims.join(", ")}]`;

function failer(file: GgufFile): (problem: string, hint?: string) => never {
    return (problem, hint) => {
        throw new GgufError(file.path, problem, hint);
    };
}

/** llama.cpp's GGUF loader rejects arrays of arrays, whatever the key. */
function checkNoNestedArrays(file: GgufFile): void {
    for (const [key, value] of file.metadata) {
        if (value.type === GgufValueType.ARRAY && value.itemType === GgufValueType.ARRAY) {
            failer(file)(`metadata key ${key} is an array of arrays, which llama.cpp cannot read`);
        }
    }
}

export function validateLlamaModel(file: GgufFile, options: ValidateModelOptions = {}): LlamaHparams {
    const fail = failer(file);
    checkNoNestedArrays(file);
    const generalType = file.metadata.get(GgufKey.general.type);
    if (generalType?.type === GgufValueType.STRING && generalType.value !== GENERAL_TYPE_MODEL) {
        if (generalType.value === GENERAL_TYPE_ADAPTER) fail("is a LoRA adapter, not a model", "pass it as an adapter together with its base model");
        fail(`${GgufKey.general.type} is "${generalType.value}", not "${GENERAL_TYPE_MODEL}"`);
    }
    const architecture = metadataString(file, GgufKey.general.architecture);
    if (architecture !== LLAMA_ARCHITECTURE) fail(`architecture is ${architecture}, not ${LLAMA_ARCHITECTURE}`, "only llama-architecture models are supported");
    const hp = readLlamaHparams(file);
    checkHparams(file, hp);
    checkTokenizer(file, hp);
    checkModelTensors(file, hp, options);
    return hp;
}

function checkHparams(file: GgufFile, hp: LlamaHparams): void {
    const fail = failer(file);
    const keys = GgufKey.llm(hp.architecture);
    const counts: [string, number][] = [
        [keys.contextLength, hp.contextLength], [keys.embeddingLength, hp.embeddingLength], [keys.blockCount, hp.blockCount],
        [keys.feedForwardLength, hp.feedForwardLength], [keys.headCountKv, hp.headCountKv]
    ];
    for (const [key, value] of counts) if (value === 0) fail(`${key} is 0`);
    if (hp.embeddingLength % hp.headCount !== 0) fail(`${keys.embeddingLength} ${hp.embeddingLength} is not divisible by ${keys.headCount} ${hp.headCount}`);
    if (hp.headCount % hp.headCountKv !== 0) fail(`${keys.headCount} ${hp.headCount} is not divisible by ${keys.headCountKv} ${hp.headCountKv}`);
    if (hp.ropeDimensionCount === 0 || hp.ropeDimensionCount % 2 !== 0 || hp.ropeDimensionCount > hp.headDim) {
        fail(`${keys.ropeDimensionCount} ${hp.ropeDimensionCount} must be even and between 2 and the head size ${hp.headDim}`);
    }
    if (!(hp.ropeFreqBase > 0 && Number.isFinite(hp.ropeFreqBase))) fail(`${keys.ropeFreqBase} ${hp.ropeFreqBase} must be a positive number`);
    if (!(hp.rmsEpsilon > 0 && Number.isFinite(hp.rmsEpsilon))) fail(`${keys.rmsEpsilon} ${hp.rmsEpsilon} must be a positive number`);
    if (file.metadata.has(keys.vocabSize)) {
        const declared = metadataNumber(file, keys.vocabSize, GgufValueType.UINT32);
        if (declared !== hp.vocabSize) fail(`${keys.vocabSize} is ${declared} but the tokenizer has ${hp.vocabSize} tokens`);
    }
}

function checkTokenizer(file: GgufFile, hp: LlamaHparams): void {
    const fail = failer(file);
    const keys = GgufKey.tokenizer;
    const model = metadataString(file, keys.model);
    const tokenCount = metadataStringArray(file, keys.tokens).length;
    if (tokenCount === 0) fail(`${keys.tokens} is empty`);
    const perToken: [string, GgufValueType][] = [[keys.scores, GgufValueType.FLOAT32], [keys.tokenType, GgufValueType.INT32]];
    for (const [key, itemType] of perToken) {
        if (!file.metadata.has(key)) continue;
        const length = metadataArray(file, key, itemType).length;
        if (length !== tokenCount) fail(`${key} has ${length} entries but ${keys.tokens} has ${tokenCount}`);
    }
    if (model === TOKENIZER_MODEL_GPT2) metadataStringArray(file, keys.merges);
    for (const key of [keys.bosTokenId, keys.eosTokenId, keys.unknownTokenId, keys.paddingTokenId]) {
        if (!file.metadata.has(key)) continue;
        const id = metadataNumber(file, key, GgufValueType.UINT32);
        if (id >= hp.vocabSize) fail(`${key} is ${id}, outside the vocabulary of ${hp.vocabSize} tokens`);
    }
    for (const key of [keys.addBosToken, keys.addEosToken]) if (file.metadata.has(key)) metadataBool(file, key);
}

/** Every tensor a dense llama model has, with the ggml dims (ne) its hyper-parameters imply. */
function expectedModelTensors(hp: LlamaHparams): Map<string, number[]> {
    const d = hp.embeddingLength;
    const qOut = hp.headCount * hp.headDim;
    const kvOut = hp.headCountKv * hp.headDim;
    const ff = hp.feedForwardLength;
    const blockDims: Record<(typeof BLOCK_TENSOR_KINDS)[number], number[]> = {
        attn_norm: [d],
        attn_q: [d, qOut],
        attn_k: [d, kvOut],
        attn_v: [d, kvOut],
        attn_output: [qOut, d],
        ffn_norm: [d],
        ffn_gate: [d, ff],
        ffn_up: [d, ff],
        ffn_down: [ff, d]
    };
    const expected = new Map<string, number[]>([
        [TensorName.tokenEmbd, [d, hp.vocabSize]],
        [TensorName.outputNorm, [d]]
    ]);
    if (!hp.tiedOutput) expected.set(TensorName.output, [d, hp.vocabSize]);
    for (let layer = 0; layer < hp.blockCount; layer++) {
        for (const kind of BLOCK_TENSOR_KINDS) expected.set(blockTensorName(layer, kind), blockDims[kind]);
    }
    return expected;
}

function checkModelTensors(file: GgufFile, hp: LlamaHparams, options: ValidateModelOptions): void {
    const fail = failer(file);
    const expected = expectedModelTensors(hp);
    const byName = new Map(file.tensors.map((tensor) => [tensor.name, tensor]));
    for (const [name, dims] of expected) {
        const tensor = byName.get(name);
        if (!tensor) fail(`missing tensor ${name}`, "the file is incomplete or not a dense llama model");
        if (formatDims(tensor!.dims) !== formatDims(dims)) {
            fail(`tensor ${name} has dims ${formatDims(tensor!.dims)} but the hyper-parameters imply ${formatDims(dims)}`,
                "the metadata and the weights disagree; write the model again");
        }
    }
    for (const tensor of file.tensors) {
        if (tensor.name === TensorName.ropeFrequencies) {
            if (formatDims(tensor.dims) !== formatDims([hp.ropeDimensionCount / 2])) {
                fail(`tensor ${tensor.name} has dims ${formatDims(tensor.dims)} but the hyper-parameters imply [${hp.ropeDimensionCount / 2}]`);
            }
        } else if (!expected.has(tensor.name)) {
            const block = parseBlockTensorName(tensor.name);
            if (block) fail(`tensor ${tensor.name} belongs to layer ${block.layer} but ${GgufKey.llm(hp.architecture).blockCount} is ${hp.blockCount}`);
            fail(`unexpected tensor ${tensor.name}`, "not part of a dense llama model (mixture-of-experts and bias tensors are not supported)");
        }
        if (options.requireDecodable) checkDecodable(file, tensor);
    }
}

function checkDecodable(file: GgufFile, tensor: GgufTensorInfo): void {
    if (!DECODABLE_TYPES.includes(tensor.type)) {
        failer(file)(`tensor ${tensor.name} is ${ggmlTypeName(tensor.type)}, which is not supported yet (supported: ${DECODABLE_TYPES.map(ggmlTypeName).join(", ")})`);
    }
}

/** Names of weights a LoRA may adapt: token_embd, output and the block projections (never norms). */
function isAdaptableName(name: string): boolean {
    if (name === TensorName.tokenEmbd || name === TensorName.output) return true;
    const block = parseBlockTensorName(name);
    return block !== undefined && block.kind !== "attn_norm" && block.kind !== "ffn_norm";
}

export function validateLoraAdapter(adapter: GgufFile, base?: GgufFile): LoraAdapterInfo {
    const fail = failer(adapter);
    checkNoNestedArrays(adapter);
    const generalType = metadataString(adapter, GgufKey.general.type);
    if (generalType !== GENERAL_TYPE_ADAPTER) fail(`${GgufKey.general.type} is "${generalType}", not "${GENERAL_TYPE_ADAPTER}"`, "is this a model rather than a LoRA adapter?");
    const adapterType = metadataString(adapter, GgufKey.adapter.type);
    if (adapterType !== ADAPTER_TYPE_LORA) fail(`${GgufKey.adapter.type} is "${adapterType}", not "${ADAPTER_TYPE_LORA}"`);
    const alpha = metadataNumber(adapter, GgufKey.adapter.loraAlpha, GgufValueType.FLOAT32);
    const architecture = metadataString(adapter, GgufKey.general.architecture);
    if (base) {
        const baseArchitecture = metadataString(base, GgufKey.general.architecture);
        if (architecture !== baseArchitecture) fail(`architecture ${architecture} does not match the base model's ${baseArchitecture}`, WRONG_BASE_HINT);
    }

    const pairs = new Map<string, { a?: GgufTensorInfo; b?: GgufTensorInfo }>();
    for (const tensor of adapter.tensors) {
        const parsed = parseLoraTensorName(tensor.name);
        if (!parsed) fail(`tensor ${tensor.name} is neither a .lora_a nor a .lora_b tensor`);
        if (tensor.dims.length !== 2) fail(`tensor ${tensor.name} has dims ${formatDims(tensor.dims)} but LoRA factors are 2-D`);
        checkDecodable(adapter, tensor);
        const pair = pairs.get(parsed!.baseTensorName) ?? {};
        pair[parsed!.part] = tensor;
        pairs.set(parsed!.baseTensorName, pair);
    }
    if (pairs.size === 0) fail("has no LoRA tensors");

    const targets: Record<string, LoraTargetShape> = {};
    for (const [baseName, { a, b }] of pairs) {
        if (!a) fail(`tensor ${loraBTensorName(baseName)} has no matching ${loraATensorName(baseName)}`);
        if (!b) fail(`tensor ${loraATensorName(baseName)} has no matching ${loraBTensorName(baseName)}`);
        targets[baseName] = loraTargetShape(adapter, baseName, a!, b!, base);
    }
    const ranks = [...new Set(Object.values(targets).map((target) => target.rank))].sort((x, y) => x - y);
    return { architecture, alpha, ranks, targets };
}

/**
 * Shape of one adapted weight. Base ne [in, out]: lora_a ne [in, rank], lora_b ne [rank, out].
 * token_embd (ne [d, vocab]) is looked up, not multiplied: lora_a ne [rank, vocab], lora_b ne [rank, d].
 */
function loraTargetShape(adapter: GgufFile, baseName: string, a: GgufTensorInfo, b: GgufTensorInfo, base?: GgufFile): LoraTargetShape {
    const fail = failer(adapter);
    const isEmbedding = baseName === TensorName.tokenEmbd;
    const [rankA, rankB] = isEmbedding ? [a.dims[0]!, b.dims[0]!] : [a.dims[1]!, b.dims[0]!];
    if (rankA !== rankB) {
        fail(`ranks disagree: ${a.name} has dims ${formatDims(a.dims)} (rank ${rankA}) but ${b.name} has dims ${formatDims(b.dims)} (rank ${rankB})`,
            isEmbedding ? "token_embd needs lora_a [rank, vocab] and lora_b [rank, d]" : "lora_a must be [in, rank] and lora_b [rank, out]");
    }
    const shape = isEmbedding ? { rank: rankA, in: a.dims[1]!, out: b.dims[1]! } : { rank: rankA, in: a.dims[0]!, out: b.dims[1]! };
    if (!base) {
        if (!isAdaptableName(baseName)) fail(`tensor ${a.name} adapts ${baseName}, which is not a llama weight matrix`);
        return shape;
    }
    const baseTensor = base.tensors.find((tensor) => tensor.name === baseName);
    const baseFile = basename(base.path);
    if (!baseTensor) fail(`tensor ${a.name} adapts ${baseName}, which the base model ${baseFile} does not have`, WRONG_BASE_HINT);
    if (baseTensor!.dims.length !== 2) fail(`tensor ${a.name} adapts ${baseName}, which is not a matrix in ${baseFile}`);
    const [baseIn, baseOut] = isEmbedding ? [baseTensor!.dims[1]!, baseTensor!.dims[0]!] : [baseTensor!.dims[0]!, baseTensor!.dims[1]!];
    if (shape.in !== baseIn) {
        fail(`tensor ${a.name} has dims ${formatDims(a.dims)} but the base model's ${baseName} needs ${isEmbedding ? "vocab" : "in"}=${baseIn}`, WRONG_BASE_HINT);
    }
    if (shape.out !== baseOut) {
        fail(`tensor ${b.name} has dims ${formatDims(b.dims)} but the base model's ${baseName} needs ${isEmbedding ? "d" : "out"}=${baseOut}`, WRONG_BASE_HINT);
    }
    return shape;
}

/** Reads and validates a model, or an adapter (against its base model when `basePath` is given). */
export async function validateGgufFile(path: string, kind: "model"): Promise<LlamaHparams>;
export async function validateGgufFile(path: string, kind: "adapter", basePath?: string): Promise<LoraAdapterInfo>;
export async function validateGgufFile(path: string, kind: "model" | "adapter", basePath?: string): Promise<LlamaHparams | LoraAdapterInfo> {
    const file = await readGguf(path);
    if (kind === "model") return validateLlamaModel(file);
    return validateLoraAdapter(file, basePath === undefined ? undefined : await readGguf(basePath));
}
