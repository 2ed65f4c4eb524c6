import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterFactors } from "../../src/blend/adapterFactors.js";
import { blendAdapters } from "../../src/blend/blendAdapters.js";
import { readBlendInfo } from "../../src/blend/blendMetadata.js";
import { STRENGTH_GRID, searchStrength } from "../../src/blend/weights/blendStrength.js";
import { llamaFewShotLoss } from "../../src/blend/weights/fewShotLoss.js";
import type { QaItem } from "../../src/data/item.js";
import { readGguf } from "../../src/gguf/reader.js";
import type { GgufFile } from "../../src/gguf/types.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime, type AdapterRef } from "../../src/runtime/llama.js";
import { ItemScorer, type ItemScores } from "../../src/runtime/scoring.js";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { expectOneLineError, runCrayon } from "../cli/runCrayon.js";
import { testItems, writeTestModel } from "../runtime/fixtures.js";

let dir: string;
let modelPath: string;
let poolDir: string;
let manifest: PoolManifest;
let base: GgufFile;
let runtime: LlamaRuntime;
let model: LlamaModel;
let encoder: ItemEncoder;
/** Questions on which the base model and the pool's first adapter alone choose different options. */
let disputed: { item: QaItem; baseChoice: number; adapterChoice: number }[];

const adapterPath = (k: number) => path.join(poolDir, manifest.adapters[k]!.file);

async function scoreWith(adapters: AdapterRef[], items: readonly QaItem[]): Promise<ItemScores[]> {
    const context = await runtime.createContext(model, { adapters, contextSize: model.trainContextSize });
    try {
        return await new ItemScorer(context.getSequence(), encoder).scoreAll(items);
    } finally {
        await context.dispose();
    }
}

beforeAll(async () => {
    await tf.setBackend("cpu"); // the random test model is made with tfjs
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-strength-"));
    modelPath = path.join(dir, "base.gguf");
    await writeTestModel(modelPath);
    base = await readGguf(modelPath);
    poolDir = path.join(dir, "pool");
    // α/r = 8: strong enough to change the random model's answers
    manifest = await writeSyntheticPool(poolDir, {
        modelPath, seed: 7, dimension: 32, adapters: [
            { rank: 4, alpha: 32, targets: ["q", "k", "v", "o", "gate", "up", "down"] }, { rank: 4, alpha: 8, targets: ["q", "v"] }, { rank: 2, alpha: 4, targets: ["v", "down"] }
        ]
    });
    runtime = await LlamaRuntime.create({ threads: 1 });
    model = await runtime.loadModel(modelPath);
    encoder = new ItemEncoder(model, modelPath);
    const questions: QaItem[] = Array.from({ length: 24 }, (_, i) => ({
        id: `q/${i}`, source: "test", task: "q", question: `which is the answer of question ${i} of the cat?`, choices: ["one", "two", "three", "four"], answer: 0
    }));
    const [atBase, atAdapter] = [await scoreWith([], questions), await scoreWith([{ path: adapterPath(0), scale: 1 }], questions)];
    disputed = questions.flatMap((item, i) => (atBase[i]!.choice === atAdapter[i]!.choice ? [] : [{ item, baseChoice: atBase[i]!.choice, adapterChoice: atAdapter[i]!.choice }]));
    writeFileSync(path.join(dir, "examples.jsonl"), testItems().map((item) => JSON.stringify(item)).join("\n"));
});

afterAll(async () => {
    await runtime?.dispose();
    rmSync(dir, { recursive: true, force: true });
});

describe("searchStrength", () => {
    it("evaluates s·w at each grid strength and keeps the lowest loss, equal losses going to the larger s", async () => {
        const seen: number[][] = [];
        const losses = [0.9, 0.7, 0.4, 0.4, 0.6]; // by grid strength
        const choice = await searchStrength([0.25, 0.75], async (weights) => {
            seen.push(weights);
            return losses[seen.length - 1]!;
        });
        expect(seen).toEqual(STRENGTH_GRID.map((s) => [0.25 * s, 0.75 * s]));
        expect(choice.strength).toBe(0.75);
        expect(choice.losses).toEqual(STRENGTH_GRID.map((strength, i) => ({ strength, loss: losses[i] })));
        expect((await searchStrength([1], async () => 2)).strength).toBe(1);
        await expect(searchStrength([1], async () => Number.NaN)).rejects.toThrow(/few-shot loss at strength 0 is not a number/);
    });
});

describe("crayon with strength auto, by llama.cpp's few-shot loss", () => {
    // crayon cut to its top adapter, the pool's first (the examples sit on its centroid): weights [1, 0, 0]
    const blend = (examples: QaItem[], out: string) => blendAdapters({ dir: poolDir, manifest }, examples, {
        method: "crayon", topK: 1, embed: async (items) => items.map(() => manifest.centroids[0]!), out: path.join(dir, out), base,
        strength: "auto", strengthLoss: llamaFewShotLoss(runtime, model, manifest.adapters.map((_, k) => adapterPath(k)), encoder, examples)
    });

    it("the disputed questions are enough to tell the two apart", () => {
        expect(disputed.length).toBeGreaterThanOrEqual(4);
    });

    it("chooses 0 for examples the adapter gets wrong and the base model right, and the file then computes the base model", async () => {
        const hurt = disputed.map(({ item, baseChoice }) => ({ ...item, answer: baseChoice }));
        const result = await blend(hurt, "hurt");
        expect(result.methodWeights).toEqual([1, 0, 0]);
        expect(result.strength.strength).toBe(0);
        expect(result.weights).toEqual([0, 0, 0]);
        const losses = result.strength.losses!.map((l) => l.loss);
        expect(losses[0]).toBeLessThan(losses[4]!);
        expect(readBlendInfo(await readGguf(result.adapterPath))!.strength).toBe(0);
        const [withBlend, alone] = [await scoreWith([{ path: result.adapterPath, scale: 1 }], hurt), await scoreWith([], hurt)];
        withBlend.forEach((scores, i) => scores.probabilities.forEach((p, j) => expect(p).toBeCloseTo(alone[i]!.probabilities[j]!, 6)));
        expect(withBlend.filter((s, i) => s.choice === hurt[i]!.answer)).toHaveLength(hurt.length);
    });

    it("chooses s > 0 for examples the adapter gets right and the base model wrong", async () => {
        const helped = disputed.map(({ item, adapterChoice }) => ({ ...item, answer: adapterChoice }));
        const result = await blend(helped, "helped");
        const { strength, losses } = result.strength;
        expect(strength).toBeGreaterThan(0);
        expect(result.weights).toEqual([strength, 0, 0]);
        expect(losses!.map((l) => l.strength)).toEqual([...STRENGTH_GRID]);
        expect(Math.min(...losses!.map((l) => l.loss))).toBe(losses!.find((l) => l.strength === strength)!.loss);
        expect(losses!.find((l) => l.strength === strength)!.loss).toBeLessThan(losses![0]!.loss);
    });
});

describe("crayon blend --strength", () => {
    const blendJson = async (...args: string[]) => {
        const run = await runCrayon(["blend", "--model", modelPath, "--pool", poolDir, "--examples", path.join(dir, "examples.jsonl"), "--json", ...args]);
        expect(run.code).toBe(0);
        return JSON.parse(run.stdout) as { adapterPath: string; strength: { strength: number; losses?: { strength: number; loss: number }[] }; adapters: { weight: number }[] };
    };

    it("0.5 scales every weight, and every B factor of the file, by 0.5 exactly", async () => {
        const full = await blendJson("--out", path.join(dir, "full.gguf"));
        const half = await blendJson("--strength", "0.5", "--out", path.join(dir, "half.gguf"));
        expect(full.strength).toEqual({ strength: 1 });
        expect(half.strength).toEqual({ strength: 0.5 });
        expect(full.adapters.filter((a) => a.weight > 0).length).toBeGreaterThan(1);
        expect(half.adapters.map((a) => a.weight)).toEqual(full.adapters.map((a) => a.weight * 0.5));
        const [fullInfo, halfInfo] = [readBlendInfo(await readGguf(full.adapterPath))!, readBlendInfo(await readGguf(half.adapterPath))!];
        expect([fullInfo.strength, halfInfo.strength]).toEqual([1, 0.5]);
        expect(halfInfo.weights).toEqual(fullInfo.weights.map((w) => w * 0.5));
        const [fullFactors, halfFactors] = [readAdapterFactors(full.adapterPath, base), readAdapterFactors(half.adapterPath, base)];
        halfFactors.matrices.forEach((m, i) => {
            expect(m.a).toEqual(fullFactors.matrices[i]!.a);
            expect(m.b).toEqual(fullFactors.matrices[i]!.b.map((v) => v * 0.5));
        });
    });

    it("auto reports the loss at each grid strength and records the one chosen", async () => {
        const full = await blendJson("--out", path.join(dir, "full-again.gguf"));
        const auto = await blendJson("--strength", "auto", "--out", path.join(dir, "auto.gguf"));
        const { strength, losses } = auto.strength;
        expect(losses!.map((l) => l.strength)).toEqual([...STRENGTH_GRID]);
        expect(losses!.find((l) => l.strength === strength)!.loss).toBe(Math.min(...losses!.map((l) => l.loss)));
        expect(auto.adapters.map((a) => a.weight)).toEqual(full.adapters.map((a) => a.weight * strength));
        expect(readBlendInfo(await readGguf(auto.adapterPath))!.strength).toBe(strength);
    });

    it.each([
        [["--strength", "-1"], /--strength must be auto or a number ≥ 0, found "-1"/],
        [["--strength", "strong"], /--strength must be auto or a number ≥ 0, found "strong"/],
        [["--method", "lorahub", "--strength", "0.5"], /--strength applies to crayon, uniform, top1 and topk/]
    ])("refuses %j with one line and writes nothing", async (extra, pattern) => {
        const out = path.join(dir, `refused-${extra.join("")}.gguf`);
        expectOneLineError(await runCrayon(["blend", "--model", modelPath, "--pool", poolDir, "--examples", path.join(dir, "examples.jsonl"), ...extra, "--out", out]), pattern);
        expect(existsSync(out)).toBe(false);
    });
});
