import * as tf from "@tensorflow/tfjs";
import { AdamW, type AdamWConfig } from "./adamw.js";
import type { TokenBatch } from "./sequences.js";
import { adapterTrainable, batchLoss, trainStep } from "./trainStep.js";
import { restoreTrainingState, trainingStateArrays } from "./trainingState.js";
import type { CreateLoraOptimization } from "./adapterTrainer.js";

/**
 * LoRA optimisation on the frozen base with the project's trainer (src/train/trainStep.ts: only the
 * scored positions reach the output head, fused cross-entropy) and AdamW: warm-up, then cosine decay
 * to a tenth of the peak.
 */
export const createLoraOptimization: CreateLoraOptimization = ({ base, stack, variables, learningRate, totalSteps }) => {
    const optimizer = new AdamW(variables, loraAdamWConfig(learningRate, totalSteps));
    const model = adapterTrainable(base.hp, base.weights, stack, variables);
    return {
        async step(batch: TokenBatch): Promise<number> {
            return trainStep(model, optimizer, [batch]).loss;
        },
        lossSum: async (batch) => tf.tidy(() => batchLoss(model, batch, 1).dataSync()[0]!),
        state: async () => trainingStateArrays(optimizer),
        restore: async (arrays) => restoreTrainingState(optimizer, arrays, "LoRA checkpoint"),
        syncVariables: async () => undefined,
        dispose() {
            model.frozenHeadTranspose?.dispose(); // the adapter's variables belong to the caller
        }
    };
};

/** The adapters' AdamW: warm-up over a tenth of the run (at most 10 steps), cosine decay to a tenth of the peak, no decay. */
export function loraAdamWConfig(learningRate: number, totalSteps: number): Partial<AdamWConfig> & Pick<AdamWConfig, "schedule"> {
    const warmupSteps = Math.min(10, Math.floor(totalSteps / 10));
    return { schedule: { peak: learningRate, floor: learningRate / 10, warmupSteps, totalSteps }, weightDecay: 0 };
}
