import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { disposeWeights, randomLlamaWeights } from "../../src/model/weights.js";
import { AdamW } from "../../src/train/adamw.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { constantLearningRate } from "../../src/train/schedule.js";
import { maskTotals, type TokenBatch } from "../../src/train/sequences.js";
import { disposeTrainable, fullTrainable, loraTrainable, splitBatch, trainStep, type TrainableModel, type TrainingMode } from "../../src/train/trainStep.js";

const hp: LlamaHparams = {
    architecture: "llama", vocabSize: 48, contextLength: 64, embeddingLength: 32, blockCount: 2, feedForwardLength: 64,
    headCount: 4, headCountKv: 2, headDim: 8, ropeDimensionCount: 8, ropeFreqBase: 10000, rmsEpsilon: 1e-5, tiedOutput: true
};

/** Sequences that repeat a short cycle: learnable in a few steps. The loss covers the second half. */
function cyclicBatch(batchSize: number, seqLen: number): TokenBatch {
    const inputs = new Int32Array(batchSize * seqLen);
    const targets = new Int32Array(batchSize * seqLen);
    const lossMask = new Float32Array(batchSize * seqLen);
    for (let row = 0; row < batchSize; row++) {
        for (let t = 0; t < seqLen; t++) {
            const i = row * seqLen + t;
            inputs[i] = (row * 5 + t * 3) % 11;
            targets[i] = (row * 5 + (t + 1) * 3) % 11;
            lossMask[i] = t >= seqLen / 2 ? 1 : 0;
        }
    }
    return { batchSize, seqLen, inputs, targets, lossMask, ...maskTotals(lossMask) };
}

function build(mode: TrainingMode): TrainableModel {
    const weights = randomLlamaWeights(hp, 11);
    return mode === "lora" ? loraTrainable(hp, weights, { rank: 4, alpha: 8, targets: ["q", "v", "down"], seed: 5 }) : fullTrainable(hp, weights);
}

function release(model: TrainableModel): void {
    disposeTrainable(model);
    disposeWeights(model.weights);
}

describe("trainStep on the wasm engine", () => {
    beforeAll(async () => {
        expect((await setupEngine()).backend).toBe("wasm");
    });

    for (const mode of ["lora", "full"] as const) {
        it(`${mode}: learns, and leaks no tensor across steps`, () => {
            const model = build(mode);
            const optimizer = new AdamW(model.variables, { schedule: constantLearningRate(mode === "lora" ? 5e-2 : 3e-3) });
            const batch = cyclicBatch(4, 16);
            const losses: number[] = [];
            const counts: number[] = [];
            for (let step = 0; step < 8; step++) {
                losses.push(trainStep(model, optimizer, [batch]).loss);
                counts.push(tf.memory().numTensors);
            }
            expect(new Set(counts.slice(1)).size).toBe(1);
            expect(counts[0]).toBe(counts[1]);
            expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.1);
            release(model);
        });
    }

    it("accumulating micro-batches gives the same update as the whole batch", () => {
        const batch = cyclicBatch(4, 16);
        const run = (parts: TokenBatch[]) => {
            const model = build("full");
            const optimizer = new AdamW(model.variables, { schedule: constantLearningRate(1e-3) });
            const result = trainStep(model, optimizer, parts);
            const params = model.variables.map((v) => v.dataSync().slice());
            release(model);
            return { result, params };
        };
        const whole = run([batch]);
        const accumulated = run(splitBatch(batch, 3)); // uneven: 3 + 1 sequences
        expect(accumulated.result.scoredTokens).toBe(whole.result.scoredTokens);
        expect(accumulated.result.loss).toBeCloseTo(whole.result.loss, 5);
        expect(accumulated.result.gradNorm).toBeCloseTo(whole.result.gradNorm, 5);
        whole.params.forEach((p, i) => {
            const q = accumulated.params[i]!;
            for (let j = 0; j < p.length; j++) expect(Math.abs(p[j]! - q[j]!)).toBeLessThan(1e-6);
        });
    });

    it("splits a batch into micro-batches that cover every row once", () => {
        const batch = cyclicBatch(5, 8);
        const parts = splitBatch(batch, 2);
        expect(parts.map((p) => p.batchSize)).toEqual([2, 2, 1]);
        expect(parts.reduce((n, p) => n + p.scoredTokens, 0)).toBe(batch.scoredTokens);
        expect(Int32Array.from(parts.flatMap((p) => [...p.inputs]))).toEqual(batch.inputs);
    });

    it("a weighted loss mask gives the weighted mean of the tokens' cross-entropies", () => {
        const batch = cyclicBatch(2, 16);
        const withMask = (weight: (t: number) => number): TokenBatch => {
            const lossMask = batch.lossMask.map((_, i) => weight(i % batch.seqLen));
            return { ...batch, lossMask, ...maskTotals(lossMask) };
        };
        const meanLoss = (b: TokenBatch) => {
            const model = build("full"); // seeded: the same weights every time
            const { loss } = trainStep(model, new AdamW(model.variables, { schedule: constantLearningRate(1e-3) }), [b]);
            release(model);
            return loss;
        };
        const early = withMask((t) => (t < 8 ? 1 : 0));
        const late = withMask((t) => (t < 8 ? 0 : 1));
        const weighted = withMask((t) => (t < 8 ? 0.25 : 1));
        expect(weighted.scoredTokens).toBe(32);
        expect(weighted.lossWeight).toBeCloseTo(0.25 * 16 + 16, 6);
        const expected = (0.25 * 16 * meanLoss(early) + 16 * meanLoss(late)) / (0.25 * 16 + 16);
        expect(meanLoss(weighted)).toBeCloseTo(expected, 5);
        expect(Math.abs(meanLoss(early) - meanLoss(late))).toBeGreaterThan(1e-3); // the weighting is visible
    });
});
