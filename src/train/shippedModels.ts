import { GgmlType } from "../gguf/constants.js";
import type { PretrainConfig } from "./pretrainConfig.js";

/**
 * The two models Crayon ships, pre-trained on the `world` benchmark's corpus. The device model learns
 * every token: it is the base of the pool, and its hidden states must tell the world's domains apart
 * (clustering, blending and the scope router embed with it). The server model, about five times
 * larger, only answers: its loss is on the answer letter, over three times as many steps.
 */
const common = {
    benchmark: "world",
    vocabPieces: 700,
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
        lossOn: "all",
        model: { embeddingLength: 128, blockCount: 4, headCount: 4, headCountKv: 2, feedForwardLength: 352, contextLength: 512, tiedOutput: true },
        steps: 800,
        batchSize: 32,
        learningRate: 3e-3,
        warmupSteps: 40,
        matrixType: GgmlType.F32
    },
    server: {
        ...common,
        name: "crayon-server",
        lossOn: "answer",
        model: { embeddingLength: 256, blockCount: 6, headCount: 8, headCountKv: 4, feedForwardLength: 704, contextLength: 512, tiedOutput: true },
        steps: 2400,
        batchSize: 16,
        learningRate: 2e-3,
        warmupSteps: 100,
        matrixType: GgmlType.F16
    }
};
