import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initLora } from "../src/model/lora.js";
import { writeLlamaModel } from "../src/model/modelFile.js";
import { disposeWeights, randomLlamaWeights } from "../src/model/weights.js";
import { GgmlTrainer } from "../src/train/ggml/ggmlTrainer.js";
import { findGgmlBuild, loadGgml } from "../src/train/ggml/library.js";
import { constantLearningRate } from "../src/train/schedule.js";
import { buildSpmVocab, spmVocabMetadata } from "../src/tokenizer/spmVocab.js";
import { maskTotals, type TokenBatch } from "../src/train/sequences.js";
import { syntheticBatch, TRAINING_CASES, type TrainingCase } from "./trainingShapes.js";

/** Result of one ggml training case, printed as one JSON line for the runner. */
export interface GgmlCaseResult {
    engine: string;
    tokensPerSecond: number; // B·T / median step time
    bestTokensPerSecond: number;
    msPerStep: number;
    /** median ms of the step's parts: forward only, forward + backward, and the rest (clipping, AdamW) */
    profile: { forwardMs: number; backwardMs: number; optimizerMs: number };
    firstLoss: number;
    lastLoss: number;
    ggmlBuffersMB: number; // model, optimizer, gradients and compute buffers
    peakRssMB: number;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** n distinct pieces, each after its prefixes (a breadth-first walk over letter strings). */
function placeholderPieces(n: number): string[] {
    const letters = [..."abcdefghijklmnopqrstuvwxyz"];
    const pieces: string[] = [];
    const queue = [...letters];
    while (pieces.length < n) {
        const piece = queue.shift()!;
        pieces.push(piece);
        queue.push(...letters.map((l) => piece + l));
    }
    return pieces;
}

/** The case's random model (the tfjs bench's weights, seed 1) as a GGUF, and its LoRA factors (seed 2). */
async function caseModel(c: TrainingCase, dir: string): Promise<{ modelPath: string; factors: Float32Array[] | null }> {
    const modelPath = path.join(dir, "model.gguf");
    const weights = randomLlamaWeights(c.hp, 1);
    try {
        // a tokenizer of the case's vocabulary size: 3 control and 256 byte tokens, then placeholder pieces
        const vocab = buildSpmVocab(placeholderPieces(c.hp.vocabSize - 259));
        await writeLlamaModel(modelPath, { hp: c.hp, weights, tokenizer: spmVocabMetadata(vocab), name: "bench" });
    } finally {
        disposeWeights(weights);
    }
    if (c.mode === "full") return { modelPath, factors: null };
    const { variables } = initLora(c.hp, { rank: c.loraRank, alpha: c.loraAlpha, targets: c.loraTargets, seed: 2 });
    const factors = variables.map((v) => v.dataSync() as Float32Array);
    tf.dispose(variables);
    return { modelPath, factors };
}

export async function runGgmlTrainingCase(c: TrainingCase, threads: number): Promise<GgmlCaseResult> {
    const dir = await mkdtemp(path.join(os.tmpdir(), "crayon-bench-ggml-"));
    try {
        const { modelPath, factors } = await caseModel(c, dir);
        const library = loadGgml(findGgmlBuild()!);
        const lora = factors === null ? null : { targets: c.loraTargets, rank: c.loraRank, alpha: c.loraAlpha, factors };
        const trainer = await GgmlTrainer.create(library, { modelPath, lora, optimizer: { schedule: constantLearningRate(1e-3) }, threads });
        const { inputs, targets, lossMask } = syntheticBatch(c);
        const batch: TokenBatch = { batchSize: c.batchSize, seqLen: c.seqLen, inputs, targets, lossMask, ...maskTotals(lossMask) };
        const steps: number[] = [];
        const losses: number[] = [];
        for (let step = 0; step <= c.steps; step++) {
            const start = performance.now();
            losses.push(trainer.trainStep([batch]).loss);
            steps.push(performance.now() - start);
        }
        // the step's parts, timed apart on the same graph (no update between them)
        const forward: number[] = [];
        const backward: number[] = [];
        for (let i = 0; i < Math.max(2, Math.ceil(c.steps / 2)); i++) {
            let start = performance.now();
            trainer.lossSum(batch);
            forward.push(performance.now() - start);
            start = performance.now();
            trainer.gradients([batch]);
            backward.push(performance.now() - start);
        }
        const msPerStep = median(steps.slice(1));
        const fwdBwd = median(backward);
        const result: GgmlCaseResult = {
            engine: `ggml ${library.version} (${library.deviceName}${library.cpuVariant === null ? "" : `, ${library.cpuVariant}`}, ${threads} threads)`,
            tokensPerSecond: (c.batchSize * c.seqLen * 1000) / msPerStep,
            bestTokensPerSecond: (c.batchSize * c.seqLen * 1000) / Math.min(...steps.slice(1)),
            msPerStep,
            profile: { forwardMs: median(forward), backwardMs: fwdBwd - median(forward), optimizerMs: Math.max(0, msPerStep - fwdBwd) },
            firstLoss: losses[0]!,
            lastLoss: losses.at(-1)!,
            ggmlBuffersMB: trainer.memoryBytes() / 2 ** 20,
            peakRssMB: process.resourceUsage().maxRSS / 1024
        };
        trainer.dispose();
        return result;
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

// Run as a child process by the bench runner: `node dist/bench/ggmlTrainingCase.js <index> [threads]`.
if (process.argv[1]?.endsWith("ggmlTrainingCase.js")) {
    const c = TRAINING_CASES[Number(process.argv[2])];
    if (c === undefined) throw new Error(`no training case ${process.argv[2]}`);
    console.log(JSON.stringify(await runGgmlTrainingCase(c, Number(process.argv[3] ?? 2))));
}
