/** A pre-training run small enough for a test: a tiny llama on the three-task world of the pool tests. */
import { writeFile } from "node:fs/promises";
import { GgmlType } from "../../src/gguf/constants.js";
import type { PretrainConfig } from "../../src/train/pretrainConfig.js";
import { writeTinyBenchmark } from "../pool/poolFixtures.js";

/**
 * Writes the tiny world benchmark (90 items, all of them the pre-training corpus) and a config on it as a
 * JSON file the CLI reads: d = 32, 2 blocks, 120 learnt pieces, batch 4, 12 steps checkpointed every 2.
 */
export async function writeTinyPretrainFiles(benchmarkFile: string, configFile: string): Promise<PretrainConfig> {
    await writeTinyBenchmark(benchmarkFile);
    const config: PretrainConfig = {
        name: "crayon-tiny",
        model: { embeddingLength: 32, blockCount: 2, headCount: 2, headCountKv: 1, feedForwardLength: 64, contextLength: 256, tiedOutput: true },
        vocabPieces: 120,
        scoring: "letter",
        lossOn: "all",
        benchmark: benchmarkFile,
        steps: 12,
        batchSize: 4,
        maxSeqLen: 64,
        learningRate: 1e-2,
        minLearningRate: 1e-3,
        warmupSteps: 2,
        weightDecay: 0.01,
        clipNorm: 1,
        seed: 5,
        checkpointEvery: 2,
        matrixType: GgmlType.F32
    };
    await writeFile(configFile, JSON.stringify(config));
    return config;
}
