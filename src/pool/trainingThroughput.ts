import { disposeLoraStack, initLora } from "../model/lora.js";
import { loadLlamaModel } from "../model/modelFile.js";
import { disposeWeights } from "../model/weights.js";
import type { LoraTarget } from "../gguf/constants.js";
import { setupEngine } from "../train/engine/backend.js";
import { packBatch } from "../train/sequences.js";
import { createLoraOptimization } from "./loraOptimization.js";

export interface ThroughputOptions {
    rank?: number; // default 8
    targets?: LoraTarget[]; // default q,k,v,o
    batchSize?: number; // default 8
    seqLen?: number; // tokens, default 128
    /** measured steps after one warm-up step; default 5 */
    steps?: number;
}

/** LoRA training speed of build-pool on a model: tokens/s through forward + backward + AdamW, on random tokens. */
export async function measureLoraTrainingThroughput(modelPath: string, { rank = 8, targets = ["q", "k", "v", "o"], batchSize = 8, seqLen = 128, steps = 5 }: ThroughputOptions = {}): Promise<{ tokensPerSecond: number; steps: number; seconds: number }> {
    await setupEngine();
    const base = await loadLlamaModel(modelPath);
    const { stack, variables } = initLora(base.hp, { rank, alpha: 2 * rank, targets, seed: 1 });
    const optimization = createLoraOptimization({ base, stack, variables, learningRate: 1e-3, totalSteps: steps + 1 });
    try {
        const tokens = Array.from({ length: seqLen + 1 }, (_, i) => (i * 7919) % base.hp.vocabSize);
        const batch = packBatch(Array.from({ length: batchSize }, () => ({ tokens, lossStart: seqLen })), seqLen);
        await optimization.step(batch); // warm-up: kernel set-up and position tables
        const started = performance.now();
        for (let step = 0; step < steps; step++) await optimization.step(batch);
        const seconds = (performance.now() - started) / 1000;
        return { tokensPerSecond: (steps * batchSize * seqLen) / seconds, steps, seconds };
    } finally {
        optimization.dispose();
        disposeLoraStack(stack);
        disposeWeights(base.weights);
    }
}
