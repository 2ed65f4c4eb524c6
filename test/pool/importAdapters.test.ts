import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticPool, type SyntheticAdapterSpec } from "../../bench/syntheticPool.js";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { readGguf } from "../../src/gguf/reader.js";
import { validateLoraAdapter } from "../../src/gguf/validate.js";
import { loadLlamaModel } from "../../src/model/modelFile.js";
import { writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { disposeWeights } from "../../src/model/weights.js";
import { createEmbedder } from "../../src/pool/embed.js";
import { sha256File } from "../../src/pool/fingerprint.js";
import { createHiddenStateEmbedder } from "../../src/pool/hiddenStateEmbedder.js";
import { importAdapters } from "../../src/pool/importAdapters.js";
import { loadPool } from "../../src/pool/loadPool.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { dot, meanDirection } from "../../src/pool/vectors.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { expectOneLineError, runCrayon } from "../cli/runCrayon.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { TINY_TASKS, writeTinyBenchmark } from "./poolFixtures.js";

let dir: string;
const modelPath = () => path.join(dir, "base.gguf");
/** adapters trained elsewhere (random factors for the test base), each with its own task's examples */
const specs: SyntheticAdapterSpec[] = [
    { rank: 4, alpha: 8, targets: ["q", "v"] },
    { rank: 2, alpha: 4, targets: ["k", "o", "down"] },
    { rank: 3, alpha: 3, targets: ["gate", "up"] }
];
const adapterPaths = () => specs.map((_, i) => path.join(dir, "trained", "adapters", `c00${i}.gguf`));
const dataPaths = () => TINY_TASKS.map((task) => path.join(dir, `${task.split(".")[0]}.jsonl`));
const itemsByAdapter: QaItem[][] = [];

beforeAll(async () => {
    // one llama.cpp thread: with the cores busy, a second one waits far more than it helps (CLI runs here read it)
    process.env.CRAYON_LLAMA_THREADS = "1";
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-import-"));
    await writeTestModel(modelPath(), 5);
    await writeSyntheticPool(path.join(dir, "trained"), { modelPath: modelPath(), seed: 4, adapters: specs });
    await writeTinyBenchmark(path.join(dir, "tiny.json"), 6);
    const { pool } = await loadBenchmark(path.join(dir, "tiny.json"));
    for (const [i, task] of TINY_TASKS.entries()) {
        itemsByAdapter.push(pool.filter((item) => item.task === task));
        await writeFile(dataPaths()[i]!, itemsByAdapter[i]!.map((item) => JSON.stringify(item)).join("\n"));
    }
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("build-pool --from-adapters", () => {
    let manifest: PoolManifest;
    const outDir = () => path.join(dir, "imported");

    it("writes a pool that loads: copies with the sources' sha256, rank, alpha and targets read from each file", async () => {
        manifest = await importAdapters({ modelPath: modelPath(), adapterPaths: adapterPaths(), dataPaths: dataPaths(), outDir: outDir(), pooling: "mean" });
        const pool = await loadPool(outDir(), { baseModelPath: modelPath() });
        expect(pool.adapterPaths).toHaveLength(3);
        for (const [i, adapter] of manifest.adapters.entries()) {
            expect(adapter.sha256).toBe(await sha256File(adapterPaths()[i]!));
            expect(await sha256File(pool.adapterPaths[i]!)).toBe(adapter.sha256);
            expect({ rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets }).toEqual(specs[i]);
            expect(adapter.cluster).toBe(i);
            expect(adapter.clusterSize).toBe(itemsByAdapter[i]!.length);
            expect(adapter.tasks).toEqual({ [itemsByAdapter[i]![0]!.task]: itemsByAdapter[i]!.length });
            expect(adapter.imported).toEqual({ adapter: path.basename(adapterPaths()[i]!), data: path.basename(dataPaths()[i]!) });
            expect(adapter.training).toBeUndefined();
        }
        expect(manifest.clustering.k).toBe(3);
        expect(manifest.clustering.purity).toBe(1);
        expect(manifest.build).toBeUndefined();
    });

    it("has unit centroids equal to the mean embedding of each adapter's examples, as blend's embedder makes them", async () => {
        const base = await loadLlamaModel(modelPath());
        const runtime = await LlamaRuntime.create({ threads: 1 });
        try {
            const tokenizer = await runtime.loadModel(modelPath(), { vocabOnly: true });
            const hiddenStates = createHiddenStateEmbedder(base, tokenizer, { pooling: "mean", modelSha256: manifest.baseModel.sha256 });
            const llamaCpp = await createEmbedder(runtime, modelPath(), { pooling: "mean" });
            for (const [i, items] of itemsByAdapter.entries()) {
                const centroid = Float32Array.from(manifest.centroids[i]!);
                expect(centroid).toHaveLength(manifest.embedder.dimension);
                expect(dot(centroid, centroid)).toBeCloseTo(1, 5);
                // the examples files carry no scoring, and an imported pool names none: its items are embedded as lettered prompts
                expect(manifest.scoring).toBeUndefined();
                const texts = items.map(({ scoring: _, ...item }) => hiddenStates.itemText(item));
                const expected = meanDirection(await hiddenStates.embed(texts), centroid.length);
                centroid.forEach((value, j) => expect(value).toBeCloseTo(expected[j]!, 5));
                expect(dot(centroid, meanDirection(await llamaCpp.embed(texts), centroid.length))).toBeGreaterThan(0.9999);
            }
            await llamaCpp.dispose();
            await tokenizer.dispose();
        } finally {
            await runtime.dispose();
            disposeWeights(base.weights);
        }
    });

    it("refuses a folder that already holds a pool and leaves it as it was", async () => {
        const before = await readFile(path.join(outDir(), "manifest.json"), "utf8");
        const again = importAdapters({ modelPath: modelPath(), adapterPaths: adapterPaths(), dataPaths: dataPaths(), outDir: outDir(), pooling: "mean" });
        await expect(again).rejects.toThrow(/imported already holds a pool \(manifest\.json\); choose another --out/);
        expect(await readFile(path.join(outDir(), "manifest.json"), "utf8")).toBe(before);
    });
});

describe("crayon build-pool --from-adapters, then crayon blend", () => {
    it("imports from the command line and blends the imported pool into a validated adapter", async () => {
        const out = path.join(dir, "cli-pool");
        const imported = await runCrayon(["build-pool", "--model", modelPath(), "--from-adapters", ...adapterPaths(), "--adapter-data", ...dataPaths(), "--out", out]);
        expect(imported.code).toBe(0);
        expect(imported.stdout).toMatch(/^c00: c000\.gguf \(rank 4, alpha 8, q,v\), centroid of 6 examples from rank\.jsonl$/m);
        expect(imported.stdout).toMatch(/pool .*cli-pool: 3 adapters for base\.gguf, purity 1\.000/);

        const blends = path.join(dir, "blends");
        const blended = await runCrayon(["blend", "--model", modelPath(), "--pool", out, "--examples", dataPaths()[1]!, "--out", blends, "--json"]);
        expect(blended.code).toBe(0);
        const result = JSON.parse(blended.stdout) as { adapterPath: string; adapters: { id: string; similarity: number; weight: number }[] };
        // the examples are the second adapter's own data: their mean embedding is its centroid
        expect(result.adapters[1]!.similarity).toBeCloseTo(1, 4);
        expect(Math.max(...result.adapters.map((a) => a.weight))).toBe(result.adapters[1]!.weight);
        validateLoraAdapter(await readGguf(result.adapterPath), await readGguf(modelPath()));
        expect(await readdir(blends)).toEqual([path.basename(result.adapterPath)]);
    });
});

describe("crayon build-pool --from-adapters refuses bad input with one line and writes nothing", () => {
    it("an adapter for another base model", async () => {
        const wideModel = path.join(dir, "wide.gguf");
        await writeRandomLlamaModel(wideModel, { embeddingLength: 48, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64, seed: 2 });
        await writeSyntheticPool(path.join(dir, "wide"), { modelPath: wideModel, seed: 1, adapters: [{ rank: 2, alpha: 2, targets: ["q"] }] });
        const out = path.join(dir, "out-wide");
        const adapters = [adapterPaths()[0]!, path.join(dir, "wide", "adapters", "c000.gguf")];
        const result = await runCrayon(["build-pool", "--model", modelPath(), "--from-adapters", ...adapters, "--adapter-data", ...dataPaths().slice(0, 2), "--out", out]);
        expectOneLineError(result, /wide\/adapters\/c000\.gguf: .*needs in=32 — maybe the adapter was trained for another base model/);
        expect(existsSync(out)).toBe(false);
    });

    it.each([
        ["a missing adapter file", () => [path.join(dir, "missing.gguf")], () => dataPaths().slice(0, 1), /--from-adapters: \S*missing\.gguf does not exist; check the path/],
        ["a missing examples file", () => adapterPaths().slice(0, 1), () => [path.join(dir, "missing.jsonl")], /--adapter-data: \S*missing\.jsonl does not exist; check the path/],
        ["an adapter without an examples file", () => adapterPaths(), () => dataPaths().slice(0, 2), /c002\.gguf: no examples file to compute its centroid from \(3 --from-adapters, 2 --adapter-data\)/],
        ["an examples file without an adapter", () => adapterPaths().slice(0, 2), () => dataPaths(), /zoo\.jsonl: an examples file without an adapter \(2 --from-adapters, 3 --adapter-data\)/],
        ["no examples at all", () => adapterPaths().slice(0, 1), () => [], /c000\.gguf: no examples file to compute its centroid from \(1 --from-adapters, 0 --adapter-data\)/],
        ["an empty examples file", () => adapterPaths().slice(0, 1), () => [path.join(dir, "empty.jsonl")], /empty\.jsonl: no examples for c000\.gguf/]
    ])("%s", async (name, adapters, data, pattern) => {
        await writeFile(path.join(dir, "empty.jsonl"), "");
        const out = path.join(dir, `out-${name.replaceAll(" ", "-")}`);
        const dataArgs = data().length === 0 ? [] : ["--adapter-data", ...data()];
        expectOneLineError(await runCrayon(["build-pool", "--model", modelPath(), "--from-adapters", ...adapters(), ...dataArgs, "--out", out]), pattern);
        expect(existsSync(out)).toBe(false);
    });

    it("training options, and --adapter-data without adapters", async () => {
        const out = path.join(dir, "out-options");
        const withRank = await runCrayon(["build-pool", "--model", modelPath(), "--from-adapters", adapterPaths()[0]!, "--adapter-data", dataPaths()[0]!, "--rank", "8", "--steps", "5", "--out", out]);
        expectOneLineError(withRank, /--from-adapters imports the adapters as they are, without training; drop --rank, --steps$/m);
        expectOneLineError(await runCrayon(["build-pool", "--model", modelPath(), "--adapter-data", dataPaths()[0]!, "--out", out]), /--adapter-data goes with --from-adapters/);
        expect(existsSync(out)).toBe(false);
    });
});
