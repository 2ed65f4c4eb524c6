import { GgmlType } from "../gguf/constants.js";
import type { PretrainConfig } from "./pretrainConfig.js";

/**
 * The two models Crayon ships, pre-trained on the `world` benchmark's corpus. The device model is
 * small enough to leave room for what adapters add; the server model has about five times its
 * parameters and sees the corpus more often, so the gap that hybrid routing closes is real.
 */
const common = {
    benchmark: "world",
    vocabPieces: 700,
    lossOn: "answer",
    maxSeqLen: 128,
    minLearningRate: 1e-4,
    weightDecay: 0.01,
    clipNorm: 1,
    seed: 7,
    checkpointEvery: 200
} as const;

export const SHIPPED_MODELS: Record<"device" | "server", PretrainConfig> = {
    device: {
        ...common,
        name: "crayon-device",
        model: { embeddingLength: 128, blockCount: 4, headCount: 4, headCountKv: 2, feedForwardLength: 352, contextLength: 512, tiedOutput: true },
        steps: 3000,
        batchSize: 16,
        learningRate: 3e-3,
        warmupSteps: 100,
        matrixType: GgmlType.F32
    },
    server: {
        ...common,
        name: "crayon-server",
        model: { embeddingLength: 256, blockCount: 6, headCount: 8, headCountKv: 4, feedForwardLength: 704, contextLength: 512, tiedOutput: true },
        steps: 2400,
        batchSize: 16,
        learningRate: 2e-3,
        warmupSteps: 100,
        matrixType: GgmlType.F16
    }
};
