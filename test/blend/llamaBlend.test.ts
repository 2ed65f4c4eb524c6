import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterFactors, type AdapterFactors } from "../../src/blend/adapterFactors.js";
import { blendAdapters } from "../../src/blend/blendAdapters.js";
import { readBlendInfo } from "../../src/blend/blendMetadata.js";
import { concatAdapters } from "../../src/blend/combine/concat.js";
import { compressFactors } from "../../src/blend/combine/svd.js";
import { llamaFewShotLoss } from "../../src/blend/weights/fewShotLoss.js";
import { lorahubWeights } from "../../src/blend/weights/lorahubWeights.js";
import { uniformWeights } from "../../src/blend/weights/uniformWeights.js";
import { writeBlendedAdapter } from "../../src/blend/writeBlendedAdapter.js";
import { GgmlType } from "../../src/gguf/constants.js";
import { readGguf } from "../../src/gguf/reader.js";
import type { GgufFile } from "../../src/gguf/types.js";
import { validateLoraAdapter } from "../../src/gguf/validate.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime, logitsAt, type AdapterRef } from "../../src/runtime/llama.js";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { testItems, writeTestModel } from "../runtime/fixtures.js";

// The blended file must mean exactly what llama.cpp computes with the pool's adapters at scales wᵢ.
const tolerance = 1e-4; // max abs logit difference, F32 KV cache

let runtime: LlamaRuntime;
let dir: string;
let modelPath: string;
let base: GgufFile;
let model: LlamaModel;
let tokens: Token[];
let manifest: PoolManifest;
let factors: AdapterFactors[];
const poolDir = () => path.join(dir, "pool");
const adapterPaths = () => manifest.adapters.map((a) => path.join(poolDir(), a.file));
const weights = [0.6, -0.4, 1.3, 0.25];
const info = (rank: number) => ({ method: "uniform" as const, combine: "concat" as const, pool: "synthetic", adapterIds: manifest.adapters.map((a) => a.id), weights, rank, baseSha256: manifest.baseModel.sha256 });

beforeAll(async () => {
    runtime = await LlamaRuntime.create({ threads: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-blend-"));
    modelPath = path.join(dir, "base.gguf");
    await writeTestModel(modelPath);
    base = await readGguf(modelPath);
    model = await runtime.loadModel(modelPath);
    tokens = [model.tokens.bos!, ...model.tokenize("the answer is 42, of question (b).")];
    // different ranks, α (0 included), targets and file types
    manifest = await writeSyntheticPool(poolDir(), {
        modelPath, seed: 5, adapters: [
            { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"] },
            { rank: 2, alpha: 3, targets: ["k", "gate", "down"], matrixType: GgmlType.F16 },
            { rank: 8, alpha: 16, targets: ["q", "v", "o"] },
            { rank: 4, alpha: 0, targets: ["q", "up"] }
        ]
    });
    factors = adapterPaths().map((p) => readAdapterFactors(p, base));
});

afterAll(async () => {
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

async function logitsWith(adapters: AdapterRef[]): Promise<Float32Array[]> {
    const context = await runtime.createContext(model, { adapters });
    try {
        return await logitsAt(context, tokens, tokens.map((_, i) => i));
    } finally {
        await context.dispose();
    }
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
    let max = 0;
    a.forEach((row, i) => row.forEach((v, j) => (max = Math.max(max, Math.abs(v - b[i]![j]!)))));
    return max;
}

describe("concat and svd blends under node-llama-cpp", () => {
    let pooled: Float32Array[];
    let concatPath: string;

    beforeAll(async () => {
        pooled = await logitsWith(adapterPaths().map((p, i) => ({ path: p, scale: weights[i]! })));
        const matrices = concatAdapters(factors.map((adapter, i) => ({ adapter, weight: weights[i]! })));
        concatPath = writeBlendedAdapter(path.join(dir, "out"), "llama", matrices, info(18), base).path;
    });

    it("concat gives the logits of all K adapters loaded at scales wᵢ", async () => {
        const blended = await logitsWith([{ path: concatPath, scale: 1 }]);
        expect(maxAbsDiff(blended, pooled)).toBeLessThanOrEqual(tolerance);
        // the blend really moves the logits, far beyond the tolerance
        expect(maxAbsDiff(await logitsWith([]), pooled)).toBeGreaterThan(1000 * tolerance);
    });

    it("svd at full rank equals concat", async () => {
        const matrices = concatAdapters(factors.map((adapter, i) => ({ adapter, weight: weights[i]! }))).map((m) => compressFactors(m, 18));
        const svdPath = writeBlendedAdapter(path.join(dir, "out"), "llama", matrices, { ...info(18), combine: "svd" }, base).path;
        expect(svdPath).not.toBe(concatPath);
        expect(maxAbsDiff(await logitsWith([{ path: svdPath, scale: 1 }]), pooled)).toBeLessThanOrEqual(tolerance);
    });

    it("svd at lower rank drifts further from concat as the rank falls", async () => {
        const drifts: number[] = [];
        for (const rank of [12, 6, 2]) {
            const matrices = concatAdapters(factors.map((adapter, i) => ({ adapter, weight: weights[i]! }))).map((m) => compressFactors(m, rank));
            const file = writeBlendedAdapter(path.join(dir, "out"), "llama", matrices, { ...info(rank), combine: "svd" }, base).path;
            drifts.push(maxAbsDiff(await logitsWith([{ path: file, scale: 1 }]), pooled));
        }
        expect(drifts[0]!).toBeLessThan(drifts[1]!);
        expect(drifts[1]!).toBeLessThan(drifts[2]!);
    });
});

describe("blendAdapters", () => {
    it("writes a validated adapter named by its content hash, with its weights in the metadata", async () => {
        const out = path.join(dir, "blends");
        const examples = testItems();
        const result = await blendAdapters({ dir: poolDir(), manifest }, examples, { method: "uniform", out, base });
        expect(path.basename(result.adapterPath)).toBe(`blend-${result.sha256.slice(0, 12)}.gguf`);
        expect(result.weights).toEqual(uniformWeights(4));
        expect(result.rank).toBe(16); // attn_q: 4 + 8 + 4
        const file = await readGguf(result.adapterPath);
        validateLoraAdapter(file, base);
        const stored = readBlendInfo(file)!;
        expect(stored.sha256).toBe(result.sha256);
        expect(stored.adapterIds).toEqual(["c000", "c001", "c002", "c003"]);
        for (const w of stored.weights) expect(w).toBeCloseTo(0.25, 7);
        expect(result.timings.blendMs).toBeGreaterThan(0);
        // the same blend again: the same name; another blend: another name
        expect((await blendAdapters({ dir: poolDir(), manifest }, examples, { method: "uniform", out, base })).adapterPath).toBe(result.adapterPath);
        const embed = async () => [manifest.centroids[2]!];
        const top1 = await blendAdapters({ dir: poolDir(), manifest }, examples, { method: "top1", embed, out, base });
        expect(top1.weights).toEqual([0, 0, 1, 0]);
        expect(top1.rank).toBe(8);
        expect(readdirSync(out).sort()).toEqual([path.basename(result.adapterPath), path.basename(top1.adapterPath)].sort());
    });
});

describe("lorahub with llama.cpp's few-shot loss", () => {
    it("does not end above the uniform blend's loss and uses exactly its budget", async () => {
        const encoder = new ItemEncoder(model, modelPath);
        let evaluations = 0;
        const loss = llamaFewShotLoss(runtime, model, adapterPaths(), encoder, testItems());
        const counted = async (w: number[]) => {
            evaluations++;
            return loss(w);
        };
        const result = await lorahubWeights(counted, 4, { budget: 12, seed: 1 });
        expect(evaluations).toBe(12);
        expect(result.evaluations).toBe(12);
        expect(result.startLoss).toBeCloseTo(await loss(uniformWeights(4)), 5);
        expect(result.loss).toBeLessThan(result.startLoss);
    });
});
