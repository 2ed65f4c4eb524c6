import { writeSync } from "node:fs";
import os from "node:os";
import { CrayonError } from "../../errors.js";
import type { LlamaHparams } from "../../gguf/llamaHparams.js";
import type { LoraTarget } from "../../gguf/constants.js";
import type { EngineInfo } from "./backend.js";

/**
 * The wasm engine's heap cannot grow past 4 GB, and when XNNPACK runs out of it the process ends with
 * exit code 0 and no message. So a training run is sized before it starts: estimate, then shrink the
 * micro-batch (gradient accumulation keeps the batch) or refuse with the numbers.
 */

const F32 = 4; // bytes
const GB = 2 ** 30;
/** The wasm heap's hard ceiling (emscripten's getHeapMax for a 32-bit heap). */
export const WASM_HEAP_LIMIT = 4294901760; // bytes
/** malloc fragmentation and the heap's growth steps. */
const HEAP_OVERHEAD = 1.3;
/**
 * The per-tensor count below misses what autograd keeps besides (op inputs saved for gradients) and the
 * gradients of one layer alive during the backward pass. Calibrated so that the estimate meets the
 * measured heap of the bench's device (d=128), server (d=256) and SmolLM2-135M-shaped runs.
 */
const ACTIVATION_OVERHEAD = 1.6;

export interface TrainingMemoryConfig {
    hp: LlamaHparams;
    mode: "lora" | "full";
    microBatch: number; // sequences per forward/backward pass
    seqLen: number; // tokens per sequence
    /** share of positions whose loss is scored (only they go through the output head); default 1 */
    scoredFraction?: number;
    lora?: { rank: number; targets: LoraTarget[] };
}

/** Bytes, by what holds them. `wasmHeap` is what must fit under the engine's limit. */
export interface MemoryEstimate {
    weights: number;
    trainable: number; // LoRA factors (full mode: the weights themselves, not counted twice)
    gradients: number; // one set, alive while read back
    activations: number; // what autograd keeps for the backward pass
    logits: number; // [scored tokens, vocab] and the cross-entropy's temporaries
    packedWeights: number; // XNNPACK's packed copies of matmul right operands
    optimizerState: number; // AdamW m, v and the gradient sums: JavaScript memory, not the wasm heap
    wasmHeap: number; // total on the tensor engine, with allocator overhead
}

export function parameterCount(hp: LlamaHparams): number {
    const { embeddingLength: d, headCount: H, headCountKv: KV, headDim: hd, feedForwardLength: F } = hp;
    const perBlock = 2 * d + d * H * hd + 2 * d * KV * hd + H * hd * d + 3 * d * F;
    return hp.vocabSize * d * (hp.tiedOutput ? 1 : 2) + hp.blockCount * perBlock + d;
}

export function loraParameterCount(hp: LlamaHparams, rank: number, targets: LoraTarget[]): number {
    const { embeddingLength: d, headCount: H, headCountKv: KV, headDim: hd, feedForwardLength: F } = hp;
    const shape: Record<LoraTarget, [number, number]> = {
        q: [d, H * hd], k: [d, KV * hd], v: [d, KV * hd], o: [H * hd, d], gate: [d, F], up: [d, F], down: [F, d]
    };
    return hp.blockCount * targets.reduce((n, t) => n + rank * (shape[t][0] + shape[t][1]), 0);
}

/** Floats autograd keeps per token per layer in src/model/forward.ts, counted tensor by tensor. */
function activationFloatsPerTokenPerLayer(hp: LlamaHparams, seqLen: number, loraRank: number): number {
    const { embeddingLength: d, headCount: H, headCountKv: KV, headDim: hd, feedForwardLength: F } = hp;
    const q = H * hd;
    const kv = KV * hd;
    const norms = 2 * 3 * d; // squares, scaled inputs, outputs of two RMSNorms
    const projections = q + 2 * kv + 4 * loraRank; // q, k, v (+ x·A per adapted projection)
    const rope = 4 * (q + kv); // rotated, ×cos, ×sin, sum for q and k
    const headMajor = q + 2 * kv + 2 * q; // transposes, and k, v repeated to H heads
    const scores = 4 * H * seqLen; // q·kᵀ, scaled, masked, softmax
    const mixing = 2 * q + 2 * d; // attention output, merged heads, o projection, residual
    const swiGlu = 5 * F + 2 * d; // gate, sigmoid, SiLU, up, product; down, residual
    return norms + projections + rope + headMajor + scores + mixing + swiGlu;
}

export function estimateTrainingMemory(config: TrainingMemoryConfig): MemoryEstimate {
    const { hp, mode, microBatch, seqLen } = config;
    const tokens = microBatch * seqLen;
    const rank = config.lora?.rank ?? 0;
    const weights = parameterCount(hp) * F32;
    const trainableCount = mode === "full" ? parameterCount(hp) : loraParameterCount(hp, rank, config.lora?.targets ?? []);
    const frozenHeadTranspose = mode === "lora" ? hp.vocabSize * hp.embeddingLength * F32 : 0;
    const estimate = {
        weights,
        trainable: mode === "full" ? 0 : trainableCount * F32,
        gradients: trainableCount * F32,
        activations: Math.ceil(tokens * hp.blockCount * activationFloatsPerTokenPerLayer(hp, seqLen, rank) * F32 * ACTIVATION_OVERHEAD),
        logits: Math.ceil(tokens * (config.scoredFraction ?? 1)) * hp.vocabSize * 6 * F32,
        packedWeights: weights + frozenHeadTranspose,
        optimizerState: 4 * trainableCount * F32
    };
    const onHeap = estimate.weights + frozenHeadTranspose + estimate.trainable + estimate.gradients +
        estimate.activations + estimate.logits + estimate.packedWeights;
    return { ...estimate, wasmHeap: Math.ceil(onHeap * HEAP_OVERHEAD) };
}

/** Bytes the engine's tensors may take: the 4 GB heap on wasm, three quarters of RAM otherwise. */
export function engineMemoryLimit(info: EngineInfo): number {
    return info.backend === "wasm" ? WASM_HEAP_LIMIT : Math.floor(os.totalmem() * 0.75);
}

export interface BatchPlan {
    microBatch: number; // sequences per forward/backward pass
    accumulationSteps: number; // micro-batches per optimizer step
    estimate: MemoryEstimate; // for one micro-batch
}

/**
 * The largest micro-batch (≤ batchSize) whose estimate fits in `limitBytes`, with the accumulation
 * steps that keep the effective batch. Throws a CrayonError when even one sequence does not fit.
 */
export function planBatch(config: Omit<TrainingMemoryConfig, "microBatch"> & { batchSize: number }, limitBytes: number): BatchPlan {
    for (let microBatch = config.batchSize; microBatch >= 1; microBatch--) {
        const estimate = estimateTrainingMemory({ ...config, microBatch });
        if (estimate.wasmHeap <= limitBytes) {
            return { microBatch, accumulationSteps: Math.ceil(config.batchSize / microBatch), estimate };
        }
    }
    const one = estimateTrainingMemory({ ...config, microBatch: 1 });
    const gb = (bytes: number) => `${(bytes / GB).toFixed(1)} GB`;
    throw new CrayonError(
        `${config.mode} training of this model (d=${config.hp.embeddingLength}, ${config.hp.blockCount} layers, ` +
            `vocab ${config.hp.vocabSize}) needs about ${gb(one.wasmHeap)} of tensor memory even one ${config.seqLen}-token ` +
            `sequence at a time (weights ${gb(one.weights)}, activations ${gb(one.activations)}, logits ${gb(one.logits)}), ` +
            `more than the ${gb(limitBytes)} available. Use shorter sequences, LoRA instead of full training, or a smaller model.`
    );
}

/**
 * Makes the process exit non-zero unless `markComplete()` was called: a run the engine ended early
 * (the wasm out-of-memory exit is code 0 with no message) is then never mistaken for success.
 */
export function ensureRealExit(task: string): { markComplete(): void } {
    let complete = false;
    const onExit = (code: number): void => {
        if (complete || code !== 0) return;
        process.exitCode = 1;
        writeSync(2, `crayon: ${task} ended before it finished (the tensor engine may have run out of memory)\n`);
    };
    process.on("exit", onExit);
    return {
        markComplete(): void {
            complete = true;
            process.off("exit", onExit);
        }
    };
}
