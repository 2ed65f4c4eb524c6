/** A few-layer llama model with grouped-query attention and a small SentencePiece-style vocabulary, plus LoRA adapters for it. */
import {
    ADAPTER_TYPE_LORA,
    BLOCK_TENSOR_KINDS,
    GENERAL_TYPE_ADAPTER,
    GgmlType,
    GgufKey,
    GgufValueType,
    LLAMA_ARCHITECTURE,
    TOKENIZER_MODEL_SPM,
    TensorName,
    TokenType,
    blockTensorName,
    loraATensorName,
    loraBTensorName
} from "../../src/gguf/constants.js";
import type { GgufValue } from "../../src/gguf/types.js";
import { gguf, type GgufContent, type GgufTensorInput } from "../../src/gguf/writer.js";
import { hparamsToMetadata, type LlamaHparams } from "../../src/gguf/llamaHparams.js";

const WORDS = ["the", "cat", "sat", "on", "mat", "dog"];

/** `<unk>`, `<s>`, `</s>`, the 256 byte tokens, then pieces such that every prefix of a piece is a piece. */
export function tinyVocab(): { tokens: string[]; scores: number[]; tokenTypes: number[] } {
    const tokens = ["<unk>", "<s>", "</s>"];
    const tokenTypes = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
    for (let byte = 0; byte < 256; byte++) {
        tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
        tokenTypes.push(TokenType.BYTE);
    }
    const pieces = new Set<string>(["▁", ..."abcdefghijklmnopqrstuvwxyz"]);
    for (const word of WORDS) for (let end = 2; end <= word.length + 1; end++) pieces.add(("▁" + word).slice(0, end));
    for (const piece of pieces) {
        tokens.push(piece);
        tokenTypes.push(TokenType.NORMAL);
    }
    // Longer pieces score higher so the SentencePiece merge prefers them.
    const scores = tokens.map((token, i) => (tokenTypes[i] === TokenType.NORMAL ? token.length * 10 - i * 0.01 : 0));
    return { tokens, scores, tokenTypes };
}

/** Deterministic values in [-scale, scale]. */
export function pseudoRandom(count: number, seed: number, scale = 0.1): Float32Array {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = Math.sin((i + 1) * 12.9898 + seed * 78.233) * scale;
    return values;
}

export interface TinyModelOptions {
    blockCount?: number;
    tiedOutput?: boolean;
    weightType?: GgmlType.F32 | GgmlType.F16;
    omitKeys?: string[];
    setKeys?: [string, GgufValue][];
    omitTensors?: string[];
    /** Replace the dims of the named tensors (to write deliberately inconsistent models). */
    dims?: Record<string, number[]>;
}

export function tinyHparams(options: TinyModelOptions = {}): LlamaHparams {
    return {
        architecture: LLAMA_ARCHITECTURE,
        vocabSize: tinyVocab().tokens.length,
        contextLength: 128,
        embeddingLength: 32,
        blockCount: options.blockCount ?? 2,
        feedForwardLength: 48,
        headCount: 4,
        headCountKv: 2,
        headDim: 8,
        ropeDimensionCount: 8,
        ropeFreqBase: 10000,
        rmsEpsilon: Math.fround(1e-5),
        tiedOutput: options.tiedOutput ?? false
    };
}

export function tinyModel(options: TinyModelOptions = {}): { content: GgufContent; hparams: LlamaHparams } {
    const hp = tinyHparams(options);
    const vocab = tinyVocab();
    const metadata = new Map<string, GgufValue>([
        [GgufKey.general.name, gguf.str("tiny-test-llama")],
        ...hparamsToMetadata(hp),
        [GgufKey.tokenizer.model, gguf.str(TOKENIZER_MODEL_SPM)],
        [GgufKey.tokenizer.tokens, gguf.arr(GgufValueType.STRING, vocab.tokens)],
        [GgufKey.tokenizer.scores, gguf.arr(GgufValueType.FLOAT32, vocab.scores.map(Math.fround))],
        [GgufKey.tokenizer.tokenType, gguf.arr(GgufValueType.INT32, vocab.tokenTypes)],
        [GgufKey.tokenizer.unknownTokenId, gguf.u32(0)],
        [GgufKey.tokenizer.bosTokenId, gguf.u32(1)],
        [GgufKey.tokenizer.eosTokenId, gguf.u32(2)],
        [GgufKey.tokenizer.addBosToken, gguf.bool(true)],
        [GgufKey.tokenizer.addEosToken, gguf.bool(false)]
    ]);
    for (const key of options.omitKeys ?? []) metadata.delete(key);
    for (const [key, value] of options.setKeys ?? []) metadata.set(key, value);

    const d = hp.embeddingLength;
    const kvOut = hp.headCountKv * hp.headDim;
    const ff = hp.feedForwardLength;
    const shapes: [string, number[]][] = [[TensorName.tokenEmbd, [d, hp.vocabSize]], [TensorName.outputNorm, [d]]];
    if (!hp.tiedOutput) shapes.push([TensorName.output, [d, hp.vocabSize]]);
    const blockShapes: Record<(typeof BLOCK_TENSOR_KINDS)[number], number[]> = {
        attn_norm: [d], attn_q: [d, d], attn_k: [d, kvOut], attn_v: [d, kvOut], attn_output: [d, d],
        ffn_norm: [d], ffn_gate: [d, ff], ffn_up: [d, ff], ffn_down: [ff, d]
    };
    for (let layer = 0; layer < hp.blockCount; layer++) {
        for (const kind of BLOCK_TENSOR_KINDS) shapes.push([blockTensorName(layer, kind), blockShapes[kind]]);
    }
    const tensors: GgufTensorInput[] = shapes
        .filter(([name]) => !(options.omitTensors ?? []).includes(name))
        .map(([name, defaultDims], i) => {
            const dims = options.dims?.[name] ?? defaultDims;
            const count = dims.reduce((a, b) => a * b, 1);
            const isNorm = dims.length === 1;
            return {
                name,
                dims,
                // Norms near 1 and F32, as converters write them.
                type: isNorm ? GgmlType.F32 : options.weightType ?? GgmlType.F32,
                data: isNorm ? pseudoRandom(count, i).map((x) => 1 + x) : pseudoRandom(count, i, 1 / Math.sqrt(dims[0]!))
            };
        });
    return { content: { metadata, tensors }, hparams: hp };
}

export interface LoraFactorSpec {
    base: string; // base tensor name
    a: number[]; // lora_a dims (ggml order)
    b: number[]; // lora_b dims
}

/** A LoRA for `tinyModel` on q, v and ffn_down of block 0 (rank 4), or on the given factors. */
export function tinyAdapter(factors?: LoraFactorSpec[], alpha = 8): GgufContent {
    const hp = tinyHparams();
    const rank = 4;
    const kvOut = hp.headCountKv * hp.headDim;
    const specs = factors ?? [
        { base: blockTensorName(0, "attn_q"), a: [hp.embeddingLength, rank], b: [rank, hp.embeddingLength] },
        { base: blockTensorName(0, "attn_v"), a: [hp.embeddingLength, rank], b: [rank, kvOut] },
        { base: blockTensorName(0, "ffn_down"), a: [hp.feedForwardLength, rank], b: [rank, hp.embeddingLength] }
    ];
    const metadata = new Map<string, GgufValue>([
        [GgufKey.general.type, gguf.str(GENERAL_TYPE_ADAPTER)],
        [GgufKey.general.architecture, gguf.str(LLAMA_ARCHITECTURE)],
        [GgufKey.adapter.type, gguf.str(ADAPTER_TYPE_LORA)],
        [GgufKey.adapter.loraAlpha, gguf.f32(alpha)]
    ]);
    const tensors = specs.flatMap((spec, i): GgufTensorInput[] => [
        { name: loraATensorName(spec.base), type: GgmlType.F32, dims: spec.a, data: pseudoRandom(spec.a[0]! * spec.a[1]!, 100 + i) },
        { name: loraBTensorName(spec.base), type: GgmlType.F32, dims: spec.b, data: pseudoRandom(spec.b[0]! * spec.b[1]!, 200 + i) }
    ]);
    return { metadata, tensors };
}
