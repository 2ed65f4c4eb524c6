import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LORA_TARGETS } from "../../src/gguf/constants.js";
import { loadLlamaModel } from "../../src/model/modelFile.js";
import { writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { disposeWeights } from "../../src/model/weights.js";
import { AdamW } from "../../src/train/adamw.js";
import { GgmlTrainer } from "../../src/train/ggml/ggmlTrainer.js";
import { findGgmlBuild, loadGgml } from "../../src/train/ggml/library.js";
import { maskTotals, type TokenBatch } from "../../src/train/sequences.js";
import { batchLoss, disposeTrainable, fullTrainable, loraTrainable, trainStep, type TrainableModel } from "../../src/train/trainStep.js";
import { maxRelativeError, seededValues } from "./helpers.js";

// The ggml engine against the tfjs `cpu` backend (plain JavaScript float32) on a tiny GQA model: the
// gradients of the same weighted loss over the same micro-batches, every trainable tensor, and the
// weights after AdamW steps with clipping and a warm-up schedule.

let dir: string;
const library = loadGgml(findGgmlBuild()!);

/** Two micro-batches with answer weight 1, prompt weight 0.05 and unscored padding. */
function microBatches(vocab: number): TokenBatch[] {
    return [0, 1].map((part) => {
        const B = 2;
        const T = 8;
        const inputs = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3 + part * 11) % vocab);
        const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1 + part * 13) % vocab);
        const lossMask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= 6 ? 1 : i % T >= 2 + part ? 0.05 : 0));
        return { batchSize: B, seqLen: T, inputs, targets, lossMask, ...maskTotals(lossMask) };
    });
}

async function tinyModel(tied: boolean): Promise<string> {
    const file = path.join(dir, `tiny-${tied ? "tied" : "untied"}.gguf`);
    await writeRandomLlamaModel(file, { embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 48, tiedOutput: tied, seed: 5 });
    return file;
}

/** The tfjs model in `mode`; LoRA's B factors get values so that A's gradients are not all zero. */
async function tfjsModel(file: string, mode: "lora" | "full"): Promise<TrainableModel> {
    const { hp, weights } = await loadLlamaModel(file);
    if (mode === "full") return fullTrainable(hp, weights);
    const model = loraTrainable(hp, weights, { rank: 4, alpha: 8, targets: [...LORA_TARGETS], seed: 3 });
    model.variables.forEach((v, i) => {
        if (v.name.endsWith(".b")) tf.tidy(() => v.assign(tf.tensor(seededValues(v.size, 100 + i), v.shape).mul(0.1)));
    });
    return model;
}

function tfjsGradients(model: TrainableModel, batches: TokenBatch[]): Float32Array[] {
    const normalizer = batches.reduce((s, b) => s + b.lossWeight, 0);
    const sums = model.variables.map((v) => new Float32Array(v.size));
    for (const batch of batches) {
        const { grads } = tf.variableGrads(() => batchLoss(model, batch, normalizer), model.variables);
        model.variables.forEach((v, i) => {
            const g = grads[v.name]!.dataSync();
            for (let j = 0; j < g.length; j++) sums[i]![j]! += g[j]!;
        });
        tf.dispose(Object.values(grads));
    }
    return sums;
}

async function ggmlFor(file: string, model: TrainableModel, maxGradNorm: number | null = 1): Promise<GgmlTrainer> {
    const lora = model.mode === "lora" ? { targets: [...LORA_TARGETS], rank: 4, alpha: 8, factors: model.variables.map((v) => v.dataSync() as Float32Array) } : null;
    const schedule = { peak: 1e-2, floor: 1e-3, warmupSteps: 2, totalSteps: 6 };
    return GgmlTrainer.create(library, { modelPath: file, lora, optimizer: { schedule, weightDecay: 0.01, maxGradNorm }, threads: 1 });
}

beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "crayon-ggml-grad-"));
    await tf.setBackend("cpu");
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("ggml engine gradients equal the tfjs cpu backend's", () => {
    for (const mode of ["lora", "full"] as const) {
        for (const tied of [false, true]) {
            it(`${mode}, ${tied ? "tied" : "untied"} head, GQA 4/2, weighted loss, two micro-batches`, async () => {
                const file = await tinyModel(tied);
                const model = await tfjsModel(file, mode);
                const trainer = await ggmlFor(file, model);
                try {
                    const batches = microBatches(model.hp.vocabSize);
                    const reference = tfjsGradients(model, batches);
                    const expectedLoss = batches.reduce((s, b) => s + tf.tidy(() => batchLoss(model, b, batches.reduce((w, x) => w + x.lossWeight, 0)).dataSync()[0]!), 0);
                    const { loss, gradients } = trainer.gradients(batches);
                    expect(Math.abs(loss - expectedLoss) / expectedLoss).toBeLessThan(1e-5);
                    expect(gradients).toHaveLength(reference.length);
                    const errors = reference.map((g, i) => maxRelativeError(g, gradients[i]!));
                    expect(Math.max(...errors)).toBeLessThan(1e-4);
                    expect(reference.every((g) => g.some((x) => x !== 0))).toBe(true);
                } finally {
                    trainer.dispose();
                    disposeTrainable(model);
                    disposeWeights(model.weights);
                }
            });
        }
    }

    it("AdamW steps (clipping, warm-up and decay, weight decay) leave the weights the tfjs engine's do", async () => {
        const file = await tinyModel(false);
        const model = await tfjsModel(file, "full");
        const trainer = await ggmlFor(file, model, 0.5);
        try {
            const schedule = { peak: 1e-2, floor: 1e-3, warmupSteps: 2, totalSteps: 6 };
            const optimizer = new AdamW(model.variables, { schedule, weightDecay: 0.01, maxGradNorm: 0.5 });
            for (let step = 0; step < 4; step++) {
                const batches = microBatches(model.hp.vocabSize);
                const expected = trainStep(model, optimizer, batches);
                const actual = trainer.trainStep(batches);
                expect(actual.step).toBe(expected.step);
                expect(actual.learningRate).toBe(expected.learningRate);
                expect(Math.abs(actual.gradNorm - expected.gradNorm) / expected.gradNorm).toBeLessThan(1e-4);
                expect(expected.gradNorm).toBeGreaterThan(0.5); // clipping is exercised
            }
            const errors = trainer.parameters().map((p, i) => maxRelativeError(model.variables[i]!.dataSync(), p));
            expect(Math.max(...errors)).toBeLessThan(1e-4);
        } finally {
            trainer.dispose();
            disposeTrainable(model);
            disposeWeights(model.weights);
        }
    });
});
