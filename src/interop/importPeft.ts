/**
 * A PEFT LoRA adapter (Hugging Face layout) → a GGUF LoRA adapter of the same llama converted to GGUF.
 * Each factor keeps its values; B of q_proj / k_proj gets the converter's row reordering (see hfLayout.ts),
 * and PEFT's per-module scale (rank_pattern, alpha_pattern, rsLoRA) becomes llama.cpp's α/r with one α
 * per file, folded into B only for modules whose scale that α cannot give.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { GgmlType, GgufKey, LORA_TARGETS, blockTensorName, loraATensorName, loraBTensorName, loraTargetTensorKind, type LoraTarget } from "../gguf/constants.js";
import { fileProblemMessage } from "../gguf/errors.js";
import { readGgufBytes } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLoraAdapter } from "../gguf/validate.js";
import { encodeGguf, writeGgufChunks, type GgufTensorInput } from "../gguf/writer.js";
import { loraAdapterMetadata } from "../model/loraFile.js";
import { PEFT_CONFIG_FILE, PEFT_PICKLE_WEIGHTS_FILE, PEFT_WEIGHTS_FILE, parsePeftFactorName, permuteRopeRows, ropeHeads } from "./hfLayout.js";
import { hfCompatibleLlama, projectionShape } from "./llamaShapes.js";
import { moduleRank, moduleScale, readPeftConfig } from "./peftConfig.js";
import { readSafetensors, safetensorF32, type SafetensorsFile, type SafetensorsTensorInfo } from "./safetensors.js";

export interface ImportedPeftAdapter {
    /** the GGUF adapter written */
    path: string;
    /** adapter.lora.alpha of the written file */
    alpha: number;
    /** distinct ranks, ascending */
    ranks: number[];
    targets: LoraTarget[];
    /** factors whose B was rescaled because the file's one α could not give their PEFT scale */
    rescaled: number;
}

interface FactorPair {
    layer: number;
    target: LoraTarget;
    moduleName: string;
    a?: SafetensorsTensorInfo;
    b?: SafetensorsTensorInfo;
}

/**
 * Converts the adapter in `peftDir` for `base` (a llama GGUF, read) and writes it to `outPath`. Everything
 * is checked before the file is written: a refused adapter leaves nothing behind.
 */
export function importPeftAdapter(peftDir: string, base: GgufFile, outPath: string): ImportedPeftAdapter {
    const { configPath, weightsPath } = peftFiles(peftDir);
    const config = readPeftConfig(configPath);
    const hp = hfCompatibleLlama(base);
    const weights = readSafetensors(weightsPath);
    const fail = (problem: string, hint?: string): never => {
        throw new CrayonError(fileProblemMessage(weightsPath, problem, hint));
    };
    const pairs = factorPairs(weights, hp.blockCount, path.basename(base.path), fail);

    const matrices = pairs.map((pair) => {
        const { a, b, moduleName, target } = pair;
        if (a === undefined || b === undefined) return fail(`${moduleName} has lora_${a === undefined ? "B" : "A"} but no lora_${a === undefined ? "A" : "B"}`);
        if (a.shape.length !== 2 || b.shape.length !== 2) fail(`${moduleName}'s factors have shapes [${a.shape}] and [${b.shape}]; LoRA factors are 2-D`);
        const [rank, inDim] = a.shape as [number, number];
        const [outDim, rankB] = b.shape as [number, number];
        if (rank !== rankB) fail(`${moduleName}: lora_A is [${a.shape.join(", ")}] (rank ${rank}) but lora_B is [${b.shape.join(", ")}] (rank ${rankB})`);
        const expectedRank = moduleRank(config, moduleName);
        if (rank !== expectedRank) fail(`${moduleName} has rank ${rank} but ${PEFT_CONFIG_FILE} gives it rank ${expectedRank} (r / rank_pattern)`, "the config and the weights disagree");
        const shape = projectionShape(hp, target);
        if (inDim !== shape.inDim || outDim !== shape.outDim) {
            fail(`${moduleName} maps ${inDim} → ${outDim} but the base model ${path.basename(base.path)}'s maps ${shape.inDim} → ${shape.outDim}`, "was the adapter trained for another base model?");
        }
        return { ...pair, rank, inDim, outDim, scale: moduleScale(config, moduleName) };
    });

    const alpha = fileAlpha(matrices);
    let rescaled = 0;
    const tensors: GgufTensorInput[] = matrices.flatMap((m) => {
        const baseName = blockTensorName(m.layer, loraTargetTensorKind(m.target));
        let bRows = safetensorF32(weights, m.b!); // [out, rank]
        const heads = ropeHeads(m.target, hp.headCount, hp.headCountKv);
        if (heads !== undefined) bRows = permuteRopeRows(bRows, m.rank, heads, true);
        const fold = m.scale / (alpha === 0 ? 1 : alpha / m.rank);
        if (fold !== 1) {
            bRows = bRows.map((v) => v * fold);
            rescaled++;
        }
        return [
            { name: loraATensorName(baseName), type: GgmlType.F32, dims: [m.inDim, m.rank], data: safetensorF32(weights, m.a!) },
            { name: loraBTensorName(baseName), type: GgmlType.F32, dims: [m.rank, m.outDim], data: bRows }
        ];
    });
    const name = weights.metadata[GgufKey.general.name] ?? path.basename(path.resolve(peftDir));
    const metadata = loraAdapterMetadata({ architecture: hp.architecture, alpha, name });
    const chunks = [...encodeGguf(outPath, { metadata, tensors })];
    const fileSize = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    validateLoraAdapter(readGgufBytes(outPath, chunks[0]!, fileSize), base);
    writeGgufChunks(outPath, chunks);
    return {
        path: outPath,
        alpha,
        ranks: [...new Set(matrices.map((m) => m.rank))].sort((x, y) => x - y),
        targets: LORA_TARGETS.filter((t) => matrices.some((m) => m.target === t)),
        rescaled
    };
}

function peftFiles(peftDir: string): { configPath: string; weightsPath: string } {
    if (!existsSync(peftDir) || !statSync(peftDir).isDirectory()) {
        throw new CrayonError(`${peftDir}: not a folder; a PEFT adapter is a folder with ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE}`);
    }
    const weightsPath = path.join(peftDir, PEFT_WEIGHTS_FILE);
    if (!existsSync(weightsPath) && existsSync(path.join(peftDir, PEFT_PICKLE_WEIGHTS_FILE))) {
        throw new CrayonError(`${peftDir}: has ${PEFT_PICKLE_WEIGHTS_FILE} (pickled PyTorch), which is not read — save the adapter with safe_serialization=True (PEFT's default) to get ${PEFT_WEIGHTS_FILE}`);
    }
    return { configPath: path.join(peftDir, PEFT_CONFIG_FILE), weightsPath };
}

/** Every tensor must be a factor of a llama projection the base has; anything else is refused by name. */
function factorPairs(weights: SafetensorsFile, blockCount: number, baseFile: string, fail: (problem: string, hint?: string) => never): FactorPair[] {
    const pairs = new Map<string, FactorPair>();
    for (const tensor of weights.tensors) {
        const { name } = tensor;
        const parsed = parsePeftFactorName(name);
        if (parsed === undefined || !("target" in parsed)) return refuseTensor(name, parsed?.module, fail);
        const { layer, target, factor, moduleName } = parsed;
        if (layer >= blockCount) fail(`tensor ${name} adapts layer ${layer}, but the base model ${baseFile} has ${blockCount} layers`, "was the adapter trained for another base model?");
        const key = `${layer}.${target}`;
        const pair = pairs.get(key) ?? { layer, target, moduleName };
        const slot = factor === "A" ? "a" : "b";
        if (pair[slot] !== undefined) fail(`tensors ${pair[slot]!.name} and ${name} are both lora_${factor} of ${moduleName}`);
        pair[slot] = tensor;
        pairs.set(key, pair);
    }
    if (pairs.size === 0) fail("holds no LoRA factors");
    return [...pairs.values()].sort((x, y) => x.layer - y.layer || LORA_TARGETS.indexOf(x.target) - LORA_TARGETS.indexOf(y.target));
}

function refuseTensor(name: string, module: string | undefined, fail: (problem: string, hint?: string) => never): never {
    if (name.includes("lora_magnitude_vector")) fail(`tensor ${name} is a DoRA magnitude vector; DoRA adapters cannot be imported`, "merge it into the model, or train a plain LoRA");
    if (name.includes("lora_embedding_") || name.includes("embed_tokens")) fail(`tensor ${name} adapts the token embedding; embedding LoRA is not supported`);
    if (name.includes("modules_to_save")) fail(`tensor ${name} is a whole saved module (modules_to_save), which a LoRA adapter cannot carry`);
    if (name.includes("lm_head")) fail(`tensor ${name} adapts lm_head; a pool's adapters adapt only the block projections`);
    if (/\.lora_[AB](\.[^.]+)?\.bias$/.test(name)) fail(`tensor ${name} is a LoRA bias, which llama.cpp's LoRA adapters do not have`);
    if (module !== undefined) fail(`tensor ${name} adapts ${module}, a module a llama base model does not have`, "was the adapter trained for another architecture?");
    return fail(`tensor ${name} is not a LoRA factor of a llama projection (…layers.N.self_attn|mlp.<proj>.lora_A|lora_B.weight)`);
}

/**
 * The file's α: llama.cpp scales every factor by α/r. The α that gives the most modules their PEFT scale
 * exactly (α_m = scale_m · r_m); 0 (scale 1 for all) when every scale is 1 but ranks differ.
 */
function fileAlpha(matrices: readonly { rank: number; scale: number }[]): number {
    const counts = new Map<number, number>();
    for (const { rank, scale } of matrices) {
        const alpha = Math.fround(scale * rank); // stored as f32
        counts.set(alpha, (counts.get(alpha) ?? 0) + 1);
    }
    if (counts.size > 1 && matrices.every((m) => m.scale === 1)) return 0;
    return [...counts.entries()].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0];
}
