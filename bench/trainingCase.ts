import * as tf from "@tensorflow/tfjs";
import { randomLlamaWeights, disposeWeights } from "../src/model/weights.js";
import { AdamW } from "../src/train/adamw.js";
import { describeEngine, setupEngine, type EngineInfo } from "../src/train/engine/backend.js";
import { engineMemoryLimit, ensureRealExit, planBatch } from "../src/train/engine/memoryGuard.js";
import { constantLearningRate } from "../src/train/schedule.js";
import { maskTotals, type TokenBatch } from "../src/train/sequences.js";
import { disposeTrainable, fullTrainable, loraTrainable, splitBatch, trainStep, type TrainableModel } from "../src/train/trainStep.js";
import { syntheticBatch, TRAINING_CASES, type TrainingCase } from "./trainingShapes.js";

/** Result of one tfjs training case, printed as one JSON line for the runner. */
export interface TrainingCaseResult {
    engine: string;
    tokensPerSecond: number; // B·T / median step time
    bestTokensPerSecond: number; // B·T / fastest step: less disturbed by other processes on the machine
    msPerStep: number;
    firstLoss: number;
    lastLoss: number;
    microBatch: number; // sequences per forward/backward pass, as the memory guard planned
    numTensors: number[]; // after each step: constant when nothing leaks
    wasmHeapMB: number | null;
}

/**
 * A random model of the case's shape set up for training (LoRA on q, k, v, o), its optimizer, and the
 * batch cut into the micro-batches the memory guard allows.
 */
export function prepareTrainingCase(c: TrainingCase, info: EngineInfo): { model: TrainableModel; optimizer: AdamW; microBatches: TokenBatch[] } {
    const lora = { rank: c.loraRank, targets: c.loraTargets };
    const plan = planBatch({ hp: c.hp, mode: c.mode, batchSize: c.batchSize, seqLen: c.seqLen, scoredFraction: 0.5, lora }, engineMemoryLimit(info));
    const base = randomLlamaWeights(c.hp, 1);
    const model = c.mode === "lora"
        ? loraTrainable(c.hp, base, { rank: c.loraRank, alpha: c.loraAlpha, targets: lora.targets, seed: 2 })
        : fullTrainable(c.hp, base);
    const optimizer = new AdamW(model.variables, { schedule: constantLearningRate(1e-3) });
    const { inputs, targets, lossMask } = syntheticBatch(c);
    const batch = { batchSize: c.batchSize, seqLen: c.seqLen, inputs, targets, lossMask, ...maskTotals(lossMask) };
    return { model, optimizer, microBatches: splitBatch(batch, plan.microBatch) };
}

export async function runTrainingCase(c: TrainingCase): Promise<TrainingCaseResult> {
    const info = await setupEngine();
    const { model, optimizer, microBatches } = prepareTrainingCase(c, info);
    const times: number[] = [];
    const losses: number[] = [];
    const numTensors: number[] = [];
    for (let step = 0; step <= c.steps; step++) {
        const start = performance.now();
        losses.push(trainStep(model, optimizer, microBatches).loss);
        times.push(performance.now() - start);
        numTensors.push(tf.memory().numTensors);
    }
    disposeTrainable(model);
    disposeWeights(model.weights);
    const timed = times.slice(1).sort((a, b) => a - b); // the first step warms up (packing, allocation)
    const msPerStep = timed[Math.floor(timed.length / 2)]!;
    const heap = (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
    return {
        engine: describeEngine(info),
        tokensPerSecond: (c.batchSize * c.seqLen * 1000) / msPerStep,
        bestTokensPerSecond: (c.batchSize * c.seqLen * 1000) / timed[0]!,
        msPerStep,
        firstLoss: losses[0]!,
        lastLoss: losses.at(-1)!,
        microBatch: microBatches[0]!.batchSize,
        numTensors,
        wasmHeapMB: heap === undefined ? null : heap / 2 ** 20
    };
}

// Run as a child process by the bench runner: `node dist/bench/trainingCase.js <index>`.
if (process.argv[1]?.endsWith("trainingCase.js")) {
    const c = TRAINING_CASES[Number(process.argv[2])];
    if (c === undefined) throw new Error(`no training case ${process.argv[2]}`);
    const run = ensureRealExit(`training case ${c.name} ${c.mode}`);
    console.log(JSON.stringify(await runTrainingCase(c)));
    run.markComplete();
}
