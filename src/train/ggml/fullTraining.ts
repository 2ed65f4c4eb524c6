import type { AdamW } from "../adamw.js";
import type { TokenBatch } from "../sequences.js";
import { trainStep, type TrainableModel, type TrainStepResult } from "../trainStep.js";
import { restoreTrainingState, trainingStateArrays } from "../trainingState.js";
import type { TrainingEngine } from "./engineChoice.js";
import type { GgmlTrainingSpec } from "./ggmlTrainer.js";
import { GgmlTrainingProcess } from "./trainingProcess.js";

/**
 * A training run's steps and state on either engine, for a loop that checkpoints: the tfjs engine
 * trains `model` in place; the ggml engine trains in a child process and brings `model` up to date
 * only when asked (before an export). State arrays are the same on both (src/train/trainingState.ts).
 */
export interface TrainingSteps {
    step(microBatches: TokenBatch[], step: number): Promise<TrainStepResult>;
    state(): Promise<Map<string, Float32Array>>;
    restore(arrays: Map<string, Float32Array>, where: string): Promise<void>;
    /** copies the trained values into the tfjs model's variables */
    syncModel(): Promise<void>;
    /** what to tell the user if the engine dies mid-run (where the last checkpoint is) */
    setCrashHint(hint: () => string): void;
    dispose(): void;
}

export async function openTrainingSteps(engine: TrainingEngine, model: TrainableModel, optimizer: AdamW, ggmlSpec: () => GgmlTrainingSpec): Promise<TrainingSteps> {
    if (engine !== "ggml") {
        return {
            step: async (microBatches) => trainStep(model, optimizer, microBatches),
            state: async () => trainingStateArrays(optimizer),
            restore: async (arrays, where) => restoreTrainingState(optimizer, arrays, where),
            syncModel: async () => undefined,
            setCrashHint: () => undefined,
            dispose: () => undefined
        };
    }
    const child = await GgmlTrainingProcess.open(ggmlSpec());
    return {
        step: (microBatches, step) => child.step(microBatches, step),
        state: () => child.state(),
        restore: (arrays, where) => child.restore(arrays, where),
        syncModel: async () => restoreTrainingState(optimizer, await child.state(), "the ggml engine's state"),
        setCrashHint: (hint) => (child.crashHint = hint),
        dispose: () => child.dispose()
    };
}
