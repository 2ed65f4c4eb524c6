import type * as tf from "@tensorflow/tfjs";
import type { LoadedLlamaModel } from "../model/modelFile.js";
import type { LoraStack } from "../model/lora.js";
import type { TokenBatch } from "./sequences.js";

/**
 * What building a pool needs from the LoRA trainer of `src/train/`: optimisation one step at a time on
 * the frozen base, and its complete state for checkpoints. The pool decides what each adapter sees; the
 * trainer decides how a step is taken.
 */
export interface LoraOptimization {
    /** one optimisation step on a batch (loss on the masked tokens only); returns its mean loss, nats per scored token */
    step(batch: TokenBatch): Promise<number>;
    /** the adapter's loss on a batch without a step: Σ cross-entropy over its scored tokens, nats */
    lossSum(batch: TokenBatch): Promise<number>;
    /** the LoRA factors and the optimiser's state by name, enough to continue bit-for-bit */
    state(): Promise<Map<string, Float32Array>>;
    restore(arrays: Map<string, Float32Array>): Promise<void>;
    /** brings the setup's `variables` up to the trained factors (an engine in another process trains its own copy) */
    syncVariables(): Promise<void>;
    dispose(): void;
}

export interface LoraOptimizationSetup {
    base: LoadedLlamaModel;
    /** the adapter being trained: its factors are `variables` */
    stack: LoraStack;
    variables: tf.Variable[];
    learningRate: number;
    /** total steps, for a learning-rate schedule */
    totalSteps: number;
}

export type CreateLoraOptimization = (setup: LoraOptimizationSetup) => LoraOptimization;
