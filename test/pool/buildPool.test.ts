import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { buildPool } from "../../src/pool/buildPool.js";
import { loadPool } from "../../src/pool/loadPool.js";
import { createLoraOptimization } from "../../src/train/loraOptimization.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { tinyBuild, writeTinyBenchmark } from "./poolFixtures.js";

let dir: string;
let items: QaItem[];
const modelPath = () => path.join(dir, "base.gguf");

beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-pool-"));
    await writeTestModel(modelPath(), 5);
    await writeTestModel(path.join(dir, "other.gguf"), 6);
    await writeTinyBenchmark(path.join(dir, "tiny.json"));
    items = (await loadBenchmark(path.join(dir, "tiny.json"))).pool;
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

const build = (outDir: string, events = {}) =>
    buildPool({ ...tinyBuild, modelPath: modelPath(), items, dataLabel: "tiny-world", outDir, createOptimization: createLoraOptimization, events });

describe("build-pool", () => {
    let manifest: PoolManifest;
    const outDir = () => path.join(dir, "pool");

    it("builds a complete pool whose every adapter validates and lowers its own cluster's held-out loss", async () => {
        manifest = await build(outDir());
        expect(manifest.adapters.map((a) => a.id)).toEqual(["c00", "c01", "c02"]);
        expect(manifest.centroids).toHaveLength(3);
        expect(manifest.centroids[0]).toHaveLength(manifest.embedder.dimension);
        expect(manifest.clustering.clusters!.reduce((n, c) => n + c.size, 0)).toBe(items.length);
        expect(manifest.clustering.purity).toBeGreaterThan(0);
        for (const adapter of manifest.adapters) {
            const training = adapter.training!; // every adapter of a built (not imported) pool has its training record
            expect(training.lossCurve.length).toBeGreaterThan(0);
            expect(training.heldOutItems).toBeGreaterThan(0);
            // the adapter written is the one of the lowest validation loss along the way
            const { validationCurve = [], validationEvery = 0, keptStep } = training;
            expect(validationCurve.length).toBeGreaterThan(1);
            expect(keptStep).toBe(validationEvery * validationCurve.indexOf(Math.min(...validationCurve)));
            // the per-task rows split the held-out items: their counts add up and their accuracies average to the whole
            const byTask = training.heldOutByTask!;
            expect(byTask.reduce((n, task) => n + task.items, 0)).toBe(training.heldOutItems);
            expect(byTask.reduce((sum, task) => sum + task.items * task.accuracyAdapter, 0) / training.heldOutItems!).toBeCloseTo(training.heldOutAccuracyAdapter!, 12);
            expect(byTask.reduce((sum, task) => sum + task.items * task.accuracyBase, 0) / training.heldOutItems!).toBeCloseTo(training.heldOutAccuracyBase!, 12);
            // a random base's output head is tiny (std 0.02), so no adapter can move its logits far: a clear, small drop
            expect(training.heldOutLossAdapter!).toBeLessThan(training.heldOutLossBase! - 0.05);
        }
        const pool = await loadPool(outDir(), { baseModelPath: modelPath() });
        expect(pool.adapterPaths).toHaveLength(3);
        expect(await readdir(outDir())).not.toContain("checkpoints");
    });

    it("refuses another base model with a one-line fingerprint error naming both files", async () => {
        const attempt = loadPool(outDir(), { baseModelPath: path.join(dir, "other.gguf") });
        await expect(attempt).rejects.toThrow(/built for base model base\.gguf .*other\.gguf.*fingerprint mismatch/);
        const again = buildPool({ ...tinyBuild, modelPath: path.join(dir, "other.gguf"), items, dataLabel: "tiny-world", outDir: outDir(), createOptimization: createLoraOptimization });
        await expect(again).rejects.toThrow(/other\.gguf.*fingerprint mismatch/);
    });

    it("refuses an adapter file that no longer matches its sha256", async () => {
        const copy = path.join(dir, "damaged");
        await build(copy);
        await writeFile(path.join(copy, "adapters", "c01.gguf"), "not a gguf");
        await expect(loadPool(copy)).rejects.toThrow(/c01\.gguf: sha256 .* differs/);
    });

    it("resumes an interrupted build: finished adapters kept, the interrupted one continued from its checkpoint", async () => {
        const out = path.join(dir, "resumed");
        const starts: { id: string; startStep: number }[] = [];
        const interrupted = build(out, {
            onTick: (id: string, tick: { step: number }) => {
                if (id === "c01" && tick.step === 7) throw new Error("interrupted");
            }
        });
        await expect(interrupted).rejects.toThrow("interrupted");
        const partial = (await loadPool(out, { baseModelPath: modelPath() })).manifest;
        expect(partial.adapters.map((a) => a.id)).toEqual(["c00"]);
        const finished = await build(out, { onAdapterStart: (info: { id: string; startStep: number }) => starts.push(info) });
        expect(starts.map(({ id, startStep }) => [id, startStep])).toEqual([["c01", 5], ["c02", 0]]);
        expect(finished.adapters[0]!.sha256).toBe(partial.adapters[0]!.sha256);
        expect(finished.adapters).toHaveLength(3);
        await loadPool(out, { baseModelPath: modelPath() });
    });
});
