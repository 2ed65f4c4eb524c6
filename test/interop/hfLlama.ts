/**
 * A tiny llama in Hugging Face layout (rotate-half RoPE, q/k rows as Hugging Face stores them), its forward
 * pass in plain float64 TypeScript, and the same model written as GGUF the way llama.cpp's converter
 * writes it (q/k rows reordered), to check the layouts against node-llama-cpp.
 */
import { GgmlType, LORA_TARGETS, TensorName, blockTensorName, loraTargetTensorKind, type LoraTarget } from "../../src/gguf/constants.js";
import { writeGguf, type GgufTensorInput } from "../../src/gguf/writer.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { permuteRopeRows, ropeHeads } from "../../src/interop/hfLayout.js";
import { projectionShape } from "../../src/interop/llamaShapes.js";
import { pseudoRandom, tinyHparams, tinyModel } from "../gguf/tinyModel.js";

/** Row-major float32 weights, PyTorch shapes: a projection is [out, in]. */
export interface HfLlama {
    hp: LlamaHparams;
    embed: Float32Array; // [vocab, d]
    layers: { attnNorm: Float32Array; ffnNorm: Float32Array; proj: Record<LoraTarget, Float32Array> }[];
    outputNorm: Float32Array; // [d]
    lmHead: Float32Array; // [vocab, d]
}

/** ΔW = scale · B·A on one projection of one layer. */
export interface LoraDelta {
    layer: number;
    target: LoraTarget;
    a: Float32Array; // [rank, in]
    b: Float32Array; // [out, rank]
    rank: number;
    scale: number;
}

export function makeHfLlama(): HfLlama {
    const hp = tinyHparams();
    const d = hp.embeddingLength;
    let seed = 1;
    const matrix = (rows: number, cols: number) => pseudoRandom(rows * cols, seed++, 1 / Math.sqrt(cols));
    const norm = () => pseudoRandom(d, seed++).map((x) => 1 + x);
    return {
        hp,
        embed: pseudoRandom(hp.vocabSize * d, seed++, 1),
        layers: Array.from({ length: hp.blockCount }, () => ({
            attnNorm: norm(),
            ffnNorm: norm(),
            proj: Object.fromEntries(LORA_TARGETS.map((target) => {
                const { inDim, outDim } = projectionShape(hp, target);
                return [target, matrix(outDim, inDim)];
            })) as Record<LoraTarget, Float32Array>
        })),
        outputNorm: norm(),
        lmHead: matrix(hp.vocabSize, d)
    };
}

/** The model as llama.cpp's converter would write it: same bytes for every weight but q/k, whose rows are reordered. */
export function writeHfLlamaAsGguf(path: string, model: HfLlama): void {
    const { hp } = model;
    const d = hp.embeddingLength;
    const tensors: GgufTensorInput[] = [
        { name: TensorName.tokenEmbd, type: GgmlType.F32, dims: [d, hp.vocabSize], data: model.embed },
        { name: TensorName.outputNorm, type: GgmlType.F32, dims: [d], data: model.outputNorm },
        { name: TensorName.output, type: GgmlType.F32, dims: [d, hp.vocabSize], data: model.lmHead }
    ];
    model.layers.forEach((layer, i) => {
        tensors.push({ name: blockTensorName(i, "attn_norm"), type: GgmlType.F32, dims: [d], data: layer.attnNorm });
        tensors.push({ name: blockTensorName(i, "ffn_norm"), type: GgmlType.F32, dims: [d], data: layer.ffnNorm });
        for (const target of LORA_TARGETS) {
            const { inDim, outDim } = projectionShape(hp, target);
            const heads = ropeHeads(target, hp.headCount, hp.headCountKv);
            const data = heads === undefined ? layer.proj[target] : permuteRopeRows(layer.proj[target], inDim, heads, true);
            tensors.push({ name: blockTensorName(i, loraTargetTensorKind(target)), type: GgmlType.F32, dims: [inDim, outDim], data });
        }
    });
    writeGguf(path, { metadata: tinyModel().content.metadata, tensors });
}

/** W + Σ scale·B·A, in float64. */
function effectiveWeight(w: Float32Array, inDim: number, deltas: readonly LoraDelta[]): Float64Array {
    const out = Float64Array.from(w);
    for (const { a, b, rank, scale } of deltas) {
        const outDim = b.length / rank;
        for (let o = 0; o < outDim; o++) {
            for (let r = 0; r < rank; r++) {
                const factor = scale * b[o * rank + r]!;
                for (let i = 0; i < inDim; i++) out[o * inDim + i] += factor * a[r * inDim + i]!;
            }
        }
    }
    return out;
}

function matVec(w: ArrayLike<number>, x: readonly number[], outDim: number): number[] {
    const inDim = x.length;
    return Array.from({ length: outDim }, (_, o) => {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += w[o * inDim + i]! * x[i]!;
        return sum;
    });
}

function rmsNorm(x: readonly number[], weight: Float32Array, eps: number): number[] {
    const meanSquare = x.reduce((sum, v) => sum + v * v, 0) / x.length;
    const inv = 1 / Math.sqrt(meanSquare + eps);
    return x.map((v, i) => v * inv * weight[i]!);
}

/** Hugging Face's RoPE: dims i and i + hd/2 of each head rotate together by position · θ^(−2i/hd). */
function rotateHalf(x: number[], heads: number, headDim: number, position: number, base: number): number[] {
    const out = [...x];
    const half = headDim / 2;
    for (let h = 0; h < heads; h++) {
        for (let i = 0; i < half; i++) {
            const angle = position * base ** (-(2 * i) / headDim);
            const [x1, x2] = [x[h * headDim + i]!, x[h * headDim + half + i]!];
            out[h * headDim + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
            out[h * headDim + half + i] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
        }
    }
    return out;
}

/** Next-token logits after every position, in float64, with the LoRA deltas applied to their weights. */
export function hfLogits(model: HfLlama, tokens: readonly number[], deltas: readonly LoraDelta[] = []): number[][] {
    const { hp } = model;
    const d = hp.embeddingLength;
    const { headCount, headCountKv, headDim } = hp;
    const weights = model.layers.map((layer, i) => Object.fromEntries(LORA_TARGETS.map((target) => [
        target,
        effectiveWeight(layer.proj[target], projectionShape(hp, target).inDim, deltas.filter((delta) => delta.layer === i && delta.target === target))
    ])) as Record<LoraTarget, Float64Array>);
    let states = tokens.map((token) => Array.from(model.embed.subarray(token * d, (token + 1) * d)));
    model.layers.forEach((layer, l) => {
        const w = weights[l]!;
        const normed = states.map((x) => rmsNorm(x, layer.attnNorm, hp.rmsEpsilon));
        const q = normed.map((x, t) => rotateHalf(matVec(w.q, x, headCount * headDim), headCount, headDim, t, hp.ropeFreqBase));
        const k = normed.map((x, t) => rotateHalf(matVec(w.k, x, headCountKv * headDim), headCountKv, headDim, t, hp.ropeFreqBase));
        const v = normed.map((x) => matVec(w.v, x, headCountKv * headDim));
        states = states.map((x, t) => {
            const attended = new Array<number>(headCount * headDim).fill(0);
            for (let h = 0; h < headCount; h++) {
                const kvHead = Math.floor(h / (headCount / headCountKv));
                const scores = Array.from({ length: t + 1 }, (_, s) => {
                    let dot = 0;
                    for (let i = 0; i < headDim; i++) dot += q[t]![h * headDim + i]! * k[s]![kvHead * headDim + i]!;
                    return dot / Math.sqrt(headDim);
                });
                const max = Math.max(...scores);
                const exps = scores.map((score) => Math.exp(score - max));
                const total = exps.reduce((sum, e) => sum + e, 0);
                exps.forEach((e, s) => {
                    for (let i = 0; i < headDim; i++) attended[h * headDim + i] += (e / total) * v[s]![kvHead * headDim + i]!;
                });
            }
            const afterAttention = matVec(w.o, attended, d).map((delta, i) => x[i]! + delta);
            const h = rmsNorm(afterAttention, layer.ffnNorm, hp.rmsEpsilon);
            const gate = matVec(w.gate, h, hp.feedForwardLength);
            const up = matVec(w.up, h, hp.feedForwardLength);
            const hidden = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
            return matVec(w.down, hidden, d).map((delta, i) => afterAttention[i]! + delta);
        });
    });
    return states.map((x) => matVec(model.lmHead, rmsNorm(x, model.outputNorm, hp.rmsEpsilon), hp.vocabSize));
}
