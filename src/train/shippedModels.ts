import { GgmlType } from "../gguf/constants.js";
import type { PretrainConfig } from "./pretrainConfig.js";

/**
 * The two models Crayon ships, pre-trained on the `world` benchmark's corpus in the cloze form: the
 * question, "Answer:", the answer's text and the end of sequence, with every token scored alike (the
 * prompt's tokens state facts too: a yes/no claim teaches what a direct question asks). A small model
 * learns to rank options by their likelihood in minutes; the letter binding took hundreds of thousands
 * of sequences (models/README.md). Untied heads, so that the token embedding can start at N(0, 1)
 * (see randomLlamaWeights). The device learns the device corpus: the near entities' facts in both
 * phrasings and the rules, but not the pool's items (the far entities' facts) nor the server's own
 * (the forge). The server, about twice the device's size, learns all of it.
 */
const common = {
    benchmark: "world",
    scoring: "cloze",
    vocabPieces: 700,
    maxSeqLen: 128,
    minLearningRate: 1e-4,
    weightDecay: 0.01,
    clipNorm: 1,
    seed: 7,
    checkpointEvery: 100,
    lossOn: "answer",
    promptLossWeight: 1,
    learningRate: 1e-3,
    warmupSteps: 100,
    batchSize: 64
} as const;

export const SHIPPED_MODELS: Record<"device" | "server", PretrainConfig> = {
    device: {
        ...common,
        name: "crayon-device",
        deviceCorpus: true,
        model: { embeddingLength: 128, blockCount: 4, headCount: 4, headCountKv: 2, feedForwardLength: 352, contextLength: 512, tiedOutput: false },
        steps: 1500,
        matrixType: GgmlType.F32
    },
    server: {
        ...common,
        name: "crayon-server",
        model: { embeddingLength: 192, blockCount: 4, headCount: 6, headCountKv: 3, feedForwardLength: 512, contextLength: 512, tiedOutput: false },
        steps: 1500,
        matrixType: GgmlType.F16
    }
};
