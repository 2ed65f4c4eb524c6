import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBlendInfo } from "../../src/blend/blendMetadata.js";
import { readGguf } from "../../src/gguf/reader.js";
import { validateLoraAdapter } from "../../src/gguf/validate.js";
import { fingerprintBaseModel } from "../../src/pool/fingerprint.js";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { expectOneLineError, runCrayon } from "../cli/runCrayon.js";
import { testItems, writeTestModel } from "../runtime/fixtures.js";

let dir: string;
let modelPath: string;
let poolDir: string;
let examples: string;

beforeAll(async () => {
    await tf.setBackend("cpu"); // the random test models are made with tfjs
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-blend-cli-"));
    modelPath = path.join(dir, "base.gguf");
    await writeTestModel(modelPath);
    poolDir = path.join(dir, "pool");
    await writeSyntheticPool(poolDir, {
        modelPath, seed: 3, dimension: 32, adapters: [
            { rank: 4, alpha: 8, targets: ["q", "v"] }, { rank: 4, alpha: 8, targets: ["q", "k", "o"] }, { rank: 2, alpha: 4, targets: ["v", "down"] }
        ]
    });
    examples = path.join(dir, "examples.jsonl");
    writeFileSync(examples, testItems().map((item) => JSON.stringify(item)).join("\n"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `crayon blend --model <the test model> <args>`. */
const crayon = (...args: string[]) => runCrayon(["blend", "--model", modelPath, ...args]);

describe("crayon blend refuses bad input with one line and writes nothing", () => {
    it.each([
        ["an empty examples file", () => writeFileSync(path.join(dir, "empty.jsonl"), ""), "empty.jsonl", [], /empty\.jsonl: no examples/],
        ["an example without an answer", () => writeFileSync(path.join(dir, "noanswer.jsonl"), JSON.stringify({ question: "q?", choices: ["a", "b"] })), "noanswer.jsonl", [], /noanswer\.jsonl:1: missing "answer"/],
        ["a rank above the pool's total rank", () => undefined, "examples.jsonl", ["--combine", "svd", "--rank", "11"], /--rank 11 is larger than the pool's total rank 10/],
        ["a top-k above the pool's size", () => undefined, "examples.jsonl", ["--top-k", "4"], /--top-k must be an integer from 1 to the pool's 3 adapters, found 4/],
        ["an unknown method", () => undefined, "examples.jsonl", ["--method", "best"], /--method must be one of crayon, lorahub/],
        ["a zero temperature", () => undefined, "examples.jsonl", ["--temperature", "0"], /--temperature must be a positive number/]
    ])("%s", async (_, prepare, file, extra, pattern) => {
        prepare();
        const out = path.join(dir, `out-${file}-${extra.join("")}`);
        expectOneLineError(await crayon("--pool", poolDir, "--examples", path.join(dir, file), "--method", "uniform", ...extra, "--out", out), pattern);
        expect(existsSync(out)).toBe(false);
    });

    it("a pool built for another base model", async () => {
        const otherModel = path.join(dir, "other.gguf");
        await writeTestModel(otherModel, 99);
        const out = path.join(dir, "out-other");
        expectOneLineError(await crayon("--pool", poolDir, "--examples", examples, "--method", "uniform", "--model", otherModel, "--out", out), /fingerprint mismatch/);
        expect(existsSync(out)).toBe(false);
    });

    it("a pool whose adapter file fails validation", async () => {
        // the adapters fit a wider model, but the manifest claims this base: sha256s match, shapes do not
        const widePool = path.join(dir, "wide-pool");
        const wideModel = path.join(dir, "wide.gguf");
        const { writeRandomLlamaModel } = await import("../../src/model/randomModel.js");
        await writeRandomLlamaModel(wideModel, { embeddingLength: 48, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64, seed: 2 });
        const manifest = await writeSyntheticPool(widePool, { modelPath: wideModel, seed: 1, dimension: 32, adapters: [{ rank: 2, alpha: 2, targets: ["q"] }] });
        writeFileSync(path.join(widePool, "manifest.json"), JSON.stringify({ ...manifest, baseModel: await fingerprintBaseModel(modelPath) }));
        const out = path.join(dir, "out-wide");
        expectOneLineError(await crayon("--pool", widePool, "--examples", examples, "--method", "uniform", "--out", out), /c000\.gguf: .*needs in=32/);
        expect(existsSync(out)).toBe(false);
    });
});

describe("crayon blend", () => {
    it("prints the weights and timings and writes a validated adapter named by its content hash", async () => {
        const out = path.join(dir, "blends");
        const result = await crayon("--pool", poolDir, "--examples", examples, "--method", "crayon", "--temperature", "0.1", "--out", out);
        // the random test pool covers no task: at most the coverage warning, with its numbers
        expect(result.stderr).toMatch(/^(warning: the pool does not cover these examples — their best similarity to a cluster is -?\d\.\d\d .*\n)?$/);
        expect(result.stdout).toMatch(/^coverage: best similarity -?\d\.\d\d \(c00\d\), weights' entropy \d\.\d\d of at most 1\.10 nats$/m);
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/adapter\s+main task\s+similarity\s+weight/);
        for (const id of ["c000", "c001", "c002"]) expect(result.stdout).toMatch(new RegExp(`^${id}\\s.*\\d\\.\\d{4}\\s+\\d\\.\\d{4}$`, "m"));
        expect(result.stdout).toMatch(/time: embedding [\d.]+ ms, weights [\d.]+ ms, blend [\d.]+ ms/);
        const [name] = readdirSync(out);
        expect(name).toMatch(/^blend-[0-9a-f]{12}\.gguf$/);
        const file = await readGguf(path.join(out, name!));
        validateLoraAdapter(file, await readGguf(modelPath));
        const info = readBlendInfo(file)!;
        expect(info.sha256.slice(0, 12)).toBe(name!.slice(6, 18));
        expect(info.method).toBe("crayon");
        expect(info.weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 5);
    });

    it("prints JSON, writes to a given file, and runs the lorahub search within its budget", async () => {
        const out = path.join(dir, "custom.gguf");
        const result = await crayon("--pool", poolDir, "--examples", examples, "--method", "lorahub", "--budget", "6", "--combine", "svd", "--rank", "4", "--out", out, "--json");
        expect(result.code).toBe(0);
        const json = JSON.parse(result.stdout) as { adapterPath: string; sha256: string; rank: number; adapters: { id: string; weight: number }[]; search: { evaluations: number; loss: number; startLoss: number } };
        expect(json.adapterPath).toBe(out);
        expect(json.rank).toBe(4);
        expect(json.adapters.map((a) => a.id)).toEqual(["c000", "c001", "c002"]);
        expect(json.search.evaluations).toBe(6);
        expect(json.search.loss).toBeLessThanOrEqual(json.search.startLoss);
        expect(readBlendInfo(await readGguf(out))!.sha256).toBe(json.sha256);
    });
});
