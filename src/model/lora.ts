import * as tf from "@tensorflow/tfjs";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import { blockMatrices, type BlockWeights } from "./weights.js";
import type { LoraTarget } from "../gguf/constants.js";

/**
 * One adapter's factors on one weight: ΔW·x = scale · B·A·x, stored transposed like the base weights
 * so that x·a·b stays on plain 2-D matmuls.
 */
export interface LoraFactors {
    a: tf.Tensor2D; // [in, r] = Aᵀ
    b: tf.Tensor2D; // [r, out] = Bᵀ
    /** α/r × the adapter's scale */
    scale: number;
}

/** Per block, the adapters on each target; several adapters on one weight are summed. */
export type BlockLora = Partial<Record<LoraTarget, LoraFactors[]>>;
/** One BlockLora per layer. */
export type LoraStack = BlockLora[];

/** Which block weight each LoRA target adapts. */
export const loraTargetWeight: Record<LoraTarget, Exclude<keyof BlockWeights, "attnNorm" | "ffnNorm">> = {
    q: "attnQ",
    k: "attnK",
    v: "attnV",
    o: "attnOutput",
    gate: "ffnGate",
    up: "ffnUp",
    down: "ffnDown"
};

export interface LoraInit {
    rank: number;
    alpha: number;
    targets: LoraTarget[];
    seed: number;
}

/**
 * A fresh trainable adapter as in PEFT: A Kaiming-uniform (bound 1/√in, i.e. a = √5), B zero, so the
 * adapted model starts exactly at the base model.
 */
export function initLora(hp: LlamaHparams, { rank, alpha, targets, seed }: LoraInit): { stack: LoraStack; variables: tf.Variable[] } {
    const shapes = new Map(blockMatrices(hp).map((m) => [m.key, m]));
    const variables: tf.Variable[] = [];
    let nextSeed = seed;
    const stack: LoraStack = Array.from({ length: hp.blockCount }, (_, layer) => {
        const block: BlockLora = {};
        for (const target of targets) {
            const { inDim, outDim } = shapes.get(loraTargetWeight[target])!;
            const bound = 1 / Math.sqrt(inDim);
            const a = tf.variable(tf.randomUniform([inDim, rank], -bound, bound, "float32", nextSeed++), true, `lora.${layer}.${target}.a`);
            const b = tf.variable(tf.zeros([rank, outDim]), true, `lora.${layer}.${target}.b`);
            variables.push(a, b);
            block[target] = [{ a: a as tf.Variable<tf.Rank.R2>, b: b as tf.Variable<tf.Rank.R2>, scale: alpha / rank }];
        }
        return block;
    });
    return { stack, variables };
}

/** Several adapters at once, each with its own scale: the sum of their ΔW, as llama.cpp applies them. */
export function combineLoraStacks(stacks: LoraStack[]): LoraStack {
    const layers = Math.max(0, ...stacks.map((s) => s.length));
    return Array.from({ length: layers }, (_, layer) => {
        const block: BlockLora = {};
        for (const stack of stacks) {
            for (const [target, factors] of Object.entries(stack[layer] ?? {}) as [LoraTarget, LoraFactors[]][]) {
                (block[target] ??= []).push(...factors);
            }
        }
        return block;
    });
}

export function disposeLoraStack(stack: LoraStack): void {
    for (const block of stack) for (const factors of Object.values(block)) for (const f of factors) tf.dispose([f.a, f.b]);
}
