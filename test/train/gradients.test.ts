import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { llamaLogits } from "../../src/model/forward.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { disposeWeights, randomLlamaWeights } from "../../src/model/weights.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { maskTotals, type TokenBatch } from "../../src/train/sequences.js";
import { batchLoss, disposeTrainable, fullTrainable, loraTrainable, type TrainableModel, type TrainingMode } from "../../src/train/trainStep.js";
import { maxRelativeError, seededValues } from "./helpers.js";

function tinyHparams(tiedOutput: boolean): LlamaHparams {
    return {
        architecture: "llama", vocabSize: 64, contextLength: 64, embeddingLength: 32, blockCount: 2, feedForwardLength: 48,
        headCount: 4, headCountKv: 2, headDim: 8, ropeDimensionCount: 8, ropeFreqBase: 10000, rmsEpsilon: 1e-5, tiedOutput
    };
}

const batch: TokenBatch = (() => {
    const B = 3;
    const T = 8;
    const inputs = Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 64);
    const targets = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 1) % 64);
    const lossMask = Float32Array.from({ length: B * T }, (_, i) => (i % T >= T / 2 ? 1 : 0));
    return { batchSize: B, seqLen: T, inputs, targets, lossMask, ...maskTotals(lossMask) };
})();

function buildModel(mode: TrainingMode, tied: boolean): TrainableModel {
    const hp = tinyHparams(tied);
    const weights = randomLlamaWeights(hp, 7);
    if (mode === "full") return fullTrainable(hp, weights);
    const model = loraTrainable(hp, weights, { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"], seed: 3 });
    // B starts at zero, which would leave every A gradient zero: give B values so both factors are checked.
    model.variables.forEach((v, i) => {
        if (v.name.endsWith(".b")) tf.tidy(() => v.assign(tf.tensor(seededValues(v.size, 100 + i), v.shape).mul(0.1)));
    });
    return model;
}

/** Mean cross-entropy over scored positions, written the plain way (all logits, autograd everywhere). */
function referenceLoss(model: TrainableModel): tf.Scalar {
    return tf.tidy(() => {
        const tokens = tf.tensor2d(batch.inputs, [batch.batchSize, batch.seqLen], "int32");
        const logits = llamaLogits(model.hp, model.weights, tokens, model.lora ?? undefined);
        const logProbs = tf.logSoftmax(logits);
        const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.tensor1d(batch.targets, "int32"), model.hp.vocabSize).toFloat()), -1);
        const mask = tf.tensor1d(batch.lossMask);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.sum(mask)) as tf.Scalar;
    });
}

function lossAndGradients(mode: TrainingMode, tied: boolean, loss: (m: TrainableModel) => tf.Scalar): { loss: number; grads: Float32Array[] } {
    const model = buildModel(mode, tied);
    const { value, grads } = tf.variableGrads(() => loss(model), model.variables);
    const result = { loss: value.dataSync()[0]!, grads: model.variables.map((v) => grads[v.name]!.dataSync() as Float32Array) };
    tf.dispose([value, ...Object.values(grads)]);
    disposeTrainable(model);
    disposeWeights(model.weights);
    return result;
}

const variants = (["lora", "full"] as const).flatMap((mode) => [true, false].map((tied) => ({ mode, tied })));

describe("training gradients on the tuned wasm engine match the cpu backend", () => {
    const reference = new Map<string, { loss: number; grads: Float32Array[] }>();
    beforeAll(async () => {
        await tf.setBackend("cpu");
        for (const { mode, tied } of variants) reference.set(`${mode}/${tied}`, lossAndGradients(mode, tied, referenceLoss));
        await setupEngine();
    });
    afterAll(async () => {
        await setupEngine();
    });

    for (const { mode, tied } of variants) {
        it(`${mode} mode, ${tied ? "tied" : "untied"} head, GQA`, async () => {
            expect(tf.getBackend()).toBe("wasm");
            const expected = reference.get(`${mode}/${tied}`)!;
            const actual = lossAndGradients(mode, tied, (m) => batchLoss(m, batch, batch.scoredTokens));
            expect(Math.abs(actual.loss - expected.loss) / expected.loss).toBeLessThan(1e-5);
            expect(actual.grads.length).toBe(expected.grads.length);
            const worst = Math.max(...expected.grads.map((g, i) => maxRelativeError(g, actual.grads[i]!)));
            expect(worst).toBeLessThan(1e-4);
        });
    }
});
