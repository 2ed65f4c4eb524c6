import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { readGguf } from "../../src/gguf/reader.js";
import { llamaLogits } from "../../src/model/forward.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { readLoraAdapter } from "../../src/model/loraFile.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../../src/model/modelFile.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime, type AdapterRef } from "../../src/runtime/llama.js";
import { ModelCache } from "../../src/runtime/modelCache.js";
import { ItemScorer, scoresFromLogits } from "../../src/runtime/scoring.js";
import { testItems, writeTestAdapter, writeTestModel } from "./fixtures.js";

let dir: string;
let runtime: LlamaRuntime;
let cache: ModelCache;
let modelPath: string;
let hp: LlamaHparams;
let reference: LoadedLlamaModel;
const adapterPaths: string[] = [];

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-scoring-"));
    modelPath = path.join(dir, "model.gguf");
    hp = await writeTestModel(modelPath);
    for (const seed of [1, 2]) {
        const adapterPath = path.join(dir, `adapter-${seed}.gguf`);
        await writeTestAdapter(adapterPath, hp, seed * 100);
        adapterPaths.push(adapterPath);
    }
    reference = await loadLlamaModel(modelPath);
    runtime = await LlamaRuntime.create({ threads: 1 });
    cache = new ModelCache(runtime, { maxAdapterFiles: 1 });
});

afterAll(async () => {
    await cache.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

/** The tfjs reference: softmax over the option letters' logits at the last prompt token. */
async function referenceProbabilities(items: QaItem[], adapter?: AdapterRef): Promise<number[][]> {
    const { model } = await cache.session(modelPath);
    const encoder = new ItemEncoder(model, modelPath);
    const lora = adapter === undefined ? undefined : await readLoraAdapter(await readGguf(adapter.path), hp, adapter.scale);
    return items.map((item) => {
        const { prompt, optionTokens } = encoder.encode(item);
        const logits = tf.tidy(() => llamaLogits(reference.hp, reference.weights, tf.tensor2d([prompt], [1, prompt.length], "int32"), lora));
        const data = logits.dataSync();
        logits.dispose();
        const last = (prompt.length - 1) * hp.vocabSize;
        return scoresFromLogits(optionTokens.map((token) => data[last + token]!)).probabilities;
    });
}

async function deviceProbabilities(items: QaItem[], adapters: AdapterRef[]): Promise<number[][]> {
    const { model, sequence } = await cache.session(modelPath, adapters);
    const scorer = new ItemScorer(sequence, new ItemEncoder(model, modelPath));
    return (await scorer.scoreAll(items)).map((s) => s.probabilities);
}

function maxDiff(a: number[][], b: number[][]): number {
    return Math.max(...a.flatMap((row, i) => row.map((value, j) => Math.abs(value - b[i]![j]!))));
}

describe("multiple-choice scoring on node-llama-cpp", () => {
    it("agrees with the tfjs reference's option probabilities without an adapter", async () => {
        const items = testItems();
        const actual = await deviceProbabilities(items, []);
        expect(actual.map((p) => p.length)).toEqual(items.map((item) => item.choices.length));
        expect(maxDiff(actual, await referenceProbabilities(items))).toBeLessThan(1e-3);
    });

    it("agrees with the reference with an adapter, and the adapter changes the answer distribution", async () => {
        const items = testItems();
        const adapter = { path: adapterPaths[0]!, scale: 0.8 };
        const actual = await deviceProbabilities(items, [adapter]);
        expect(maxDiff(actual, await referenceProbabilities(items, adapter))).toBeLessThan(1e-3);
        expect(maxDiff(actual, await referenceProbabilities(items))).toBeGreaterThan(1e-2);
    });

    it("gives the same scores when items are scored in another order on the reused sequence", async () => {
        const items = testItems();
        const forward = await deviceProbabilities(items, []);
        const backward = (await deviceProbabilities([...items].reverse(), [])).reverse();
        expect(maxDiff(forward, backward)).toBeLessThan(1e-6);
    });

    it("reloads the model past its adapter bound and still scores each adapter correctly", async () => {
        const items = testItems().slice(0, 1);
        const before = cache.modelReloads;
        const second = { path: adapterPaths[1]!, scale: 1 };
        const actual = await deviceProbabilities(items, [second]);
        expect(cache.modelReloads).toBe(before + 1);
        expect(maxDiff(actual, await referenceProbabilities(items, second))).toBeLessThan(1e-3);
    });
});
