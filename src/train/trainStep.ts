import * as tf from "@tensorflow/tfjs";
import { llamaHidden, outputLogits } from "../model/forward.js";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import { initLora, type LoraInit, type LoraStack } from "../model/lora.js";
import type { BlockWeights, LlamaWeights } from "../model/weights.js";
import type { AdamW, AdamWStepReport } from "./adamw.js";
import { maskTotals, type TokenBatch } from "./sequences.js";

export type TrainingMode = "lora" | "full";

/** A llama model set up for training: which tensors the optimizer owns and how the head is applied. */
export interface TrainableModel {
    mode: TrainingMode;
    hp: LlamaHparams;
    weights: LlamaWeights; // full mode: every tensor is a tf.Variable
    lora: LoraStack | null; // LoRA mode: the trainable adapter
    variables: tf.Variable[]; // what the optimizer updates, in a fixed order
    /**
     * LoRA mode with F32 weights: the frozen output head's transpose ([vocab, d] for an untied head,
     * [d, vocab] for a tied one), kept so that both the head and its input gradient are plain 2-D
     * matmuls against persistent tensors (the wasm engine then packs them once instead of every step).
     */
    frozenHeadTranspose: tf.Tensor2D | null;
}

/** LoRA mode: the base weights stay frozen; a fresh adapter (A Kaiming-uniform, B zero) is trained. */
export function loraTrainable(hp: LlamaHparams, weights: LlamaWeights, init: LoraInit): TrainableModel {
    const { stack, variables } = initLora(hp, init);
    return adapterTrainable(hp, weights, stack, variables);
}

/** LoRA mode on an adapter the caller made and owns (`variables` are its factors). */
export function adapterTrainable(hp: LlamaHparams, weights: LlamaWeights, stack: LoraStack, variables: tf.Variable[]): TrainableModel {
    const head = weights.output ?? weights.tokenEmbd;
    const frozenHeadTranspose = weights.f16MatmulInputs ? null : tf.tidy(() => tf.transpose(head));
    return { mode: "lora", hp, weights, lora: stack, variables, frozenHeadTranspose };
}

/** Full mode: every weight (norms included) becomes a trainable variable; takes ownership of `weights`. */
export function fullTrainable(hp: LlamaHparams, weights: LlamaWeights): TrainableModel {
    const variables: tf.Variable[] = [];
    const own = <T extends tf.Tensor>(t: T): T => {
        const v = tf.variable(t, true);
        t.dispose();
        variables.push(v);
        return v as unknown as T;
    };
    const trainable: LlamaWeights = {
        tokenEmbd: own(weights.tokenEmbd),
        blocks: weights.blocks.map((block) => {
            const owned = {} as Record<keyof BlockWeights, tf.Tensor>;
            for (const key of Object.keys(block) as (keyof BlockWeights)[]) owned[key] = own(block[key]);
            return owned as unknown as BlockWeights;
        }),
        outputNorm: own(weights.outputNorm),
        output: weights.output === null ? null : own(weights.output),
        f16MatmulInputs: weights.f16MatmulInputs
    };
    return { mode: "full", hp, weights: trainable, lora: null, variables, frozenHeadTranspose: null };
}

/** Frees what the trainable set-up created (the adapter, the cached head); not the base weights. */
export function disposeTrainable(model: TrainableModel): void {
    if (model.mode === "lora") tf.dispose(model.variables);
    if (model.frozenHeadTranspose !== null) model.frozenHeadTranspose.dispose();
}

export interface TrainStepResult extends AdamWStepReport {
    loss: number; // loss-weighted mean cross-entropy over the scored tokens of all micro-batches, nats
    scoredTokens: number;
}

/**
 * One optimization step over micro-batches that together form the batch: the loss is the weighted mean
 * cross-entropy over all their scored tokens, so k micro-batches give exactly the gradient of the one
 * batch they were cut from. Gradients are summed in JavaScript memory between micro-batches.
 */
export function trainStep(model: TrainableModel, optimizer: AdamW, microBatches: TokenBatch[]): TrainStepResult {
    const scoredTokens = microBatches.reduce((n, b) => n + b.scoredTokens, 0);
    const lossWeight = microBatches.reduce((sum, b) => sum + b.lossWeight, 0);
    if (scoredTokens === 0) throw new Error("trainStep: the batch has no scored tokens");
    const sums = model.variables.map((v) => new Float32Array(v.size));
    let loss = 0;
    for (const batch of microBatches) {
        if (batch.scoredTokens === 0) continue;
        const { value, grads } = tf.variableGrads(() => batchLoss(model, batch, lossWeight), model.variables);
        loss += value.dataSync()[0]!;
        model.variables.forEach((v, i) => {
            const g = grads[v.name];
            if (g === undefined) return; // not on the loss path (e.g. a LoRA target the batch never reaches)
            const values = g.dataSync();
            const sum = sums[i]!;
            for (let j = 0; j < sum.length; j++) sum[j]! += values[j]!;
        });
        tf.dispose([value, ...Object.values(grads)]);
    }
    return { ...optimizer.apply(sums), loss, scoredTokens };
}

/** Σ lossMask-weighted cross-entropy over the batch's scored tokens, divided by `normalizer` (the step's total weight). */
export function batchLoss(model: TrainableModel, batch: TokenBatch, normalizer: number): tf.Scalar {
    const rows: number[] = [];
    const targets: number[] = [];
    const weights: number[] = [];
    batch.lossMask.forEach((w, i) => {
        if (w <= 0) return;
        rows.push(i);
        targets.push(batch.targets[i]!);
        weights.push(w / normalizer);
    });
    return tf.tidy(() => {
        const tokens = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], "int32");
        const hidden = llamaHidden(model.hp, model.weights, tokens, model.lora ?? undefined); // [B·T, d]
        // Only scored positions go through the output head: the logits of the others never reach the loss.
        const scored = tf.gather(hidden, tf.tensor1d(rows, "int32")) as tf.Tensor2D; // [N, d]
        const logits = headLogits(model, scored); // [N, vocab]
        return weightedCrossEntropy(logits, Int32Array.from(targets), Float32Array.from(weights));
    });
}

function headLogits(model: TrainableModel, hidden: tf.Tensor2D): tf.Tensor2D {
    const transposed = model.frozenHeadTranspose;
    if (transposed === null) return outputLogits(model.weights, hidden);
    const { output, tokenEmbd } = model.weights;
    // logits = h·W with W = output [d, vocab] or tokenEmbdᵀ; the input gradient is dy·Wᵀ.
    const [forwardWeight, backwardWeight] = output !== null ? [output, transposed] : [transposed, tokenEmbd];
    const head = tf.customGrad((...args) => ({
        value: tf.matMul(args[0] as tf.Tensor2D, forwardWeight),
        gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, backwardWeight)
    }));
    return head(hidden) as tf.Tensor2D;
}

/**
 * Σᵢ wᵢ·(logsumexp(logitsᵢ) − logitsᵢ[targetᵢ]), with the fused gradient wᵢ·(softmaxᵢ − onehot(targetᵢ))
 * so that the [N, vocab] intermediates are made once and not kept for a generic backward pass.
 */
function weightedCrossEntropy(logits: tf.Tensor2D, targets: Int32Array, weights: Float32Array): tf.Scalar {
    const [rows, vocab] = logits.shape;
    const loss = tf.customGrad((...args) => {
        const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
        // No exp over [N, vocab] (the wasm Exp kernel is slow): the Softmax kernel subtracts the row max m,
        // so its largest probability is 1 / Σ exp(x − m), whose −log is the shifted log-sum-exp.
        const rowMax = tf.max(x, -1); // [N]
        const softmax = tf.softmax(x); // [N, vocab]
        const shiftedLogSumExp = tf.neg(tf.log(tf.max(softmax, -1))); // [N]
        const flatIndex = tf.tensor1d(targets.map((t, row) => row * vocab + t), "int32");
        const targetLogit = tf.gather(tf.reshape(x, [-1]), flatIndex); // [N]
        const perToken = tf.sub(shiftedLogSumExp, tf.sub(targetLogit, rowMax));
        save([softmax]);
        return {
            value: tf.sum(tf.mul(perToken, tf.tensor1d(weights))),
            gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
                const probabilities = saved[0]!;
                const oneHot = tf.oneHot(tf.tensor1d(targets, "int32"), vocab, 1, 0, "float32");
                // tensors made here, not captured: the forward's tidy has disposed its own by now
                return tf.mul(tf.sub(probabilities, oneHot), tf.mul(tf.tensor2d(weights, [rows, 1]), dy));
            }
        };
    });
    return loss(logits) as tf.Scalar;
}

/** Cuts a batch into micro-batches of at most `microBatchSize` rows (gradient accumulation). */
export function splitBatch(batch: TokenBatch, microBatchSize: number): TokenBatch[] {
    const parts: TokenBatch[] = [];
    const T = batch.seqLen;
    for (let start = 0; start < batch.batchSize; start += microBatchSize) {
        const size = Math.min(microBatchSize, batch.batchSize - start);
        const range = [start * T, (start + size) * T] as const;
        const lossMask = batch.lossMask.slice(...range);
        parts.push({
            batchSize: size,
            seqLen: T,
            inputs: batch.inputs.slice(...range),
            targets: batch.targets.slice(...range),
            lossMask,
            ...maskTotals(lossMask)
        });
    }
    return parts;
}
