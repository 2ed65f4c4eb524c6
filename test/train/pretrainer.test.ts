import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { CrayonError } from "../../src/errors.js";
import { metadataString } from "../../src/gguf/metadata.js";
import { readGguf } from "../../src/gguf/reader.js";
import { validateLlamaModel } from "../../src/gguf/validate.js";
import { answerMetrics } from "../../src/pool/heldOutLoss.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import type { PretrainConfig } from "../../src/train/pretrainConfig.js";
import { assertNoTestLeak, pretrain, pretrainCorpus, type PretrainResult } from "../../src/train/pretrainer.js";
import { SHIPPED_MODELS } from "../../src/train/shippedModels.js";
import { projectRoot } from "../../src/version.js";
import { writeTinyPretrainFiles } from "./tinyPretrain.js";

// One uninterrupted run is the reference every interrupted run must reproduce byte for byte.
let dir: string;
let configFile: string;
let config: PretrainConfig;
let reference: { result: PretrainResult; losses: number[]; file: Buffer; workDir: string };

beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-pretrain-"));
    configFile = path.join(dir, "tiny-config.json");
    config = await writeTinyPretrainFiles(path.join(dir, "tiny-world.json"), configFile);
    const out = path.join(dir, "reference.gguf");
    const workDir = path.join(dir, "reference");
    const losses: number[] = [];
    const result = await pretrain(config, { out, workDir, resume: false, onTick: (tick) => losses.push(tick.loss) });
    reference = { result, losses, file: await readFile(out), workDir };
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

const checkpointSteps = async (workDir: string): Promise<number[]> =>
    (await readdir(path.join(workDir, "checkpoints")).catch(() => [] as string[])).flatMap((name) => {
        const match = /^step-(\d{8})\.ckpt$/.exec(name);
        return match ? [Number(match[1])] : [];
    });

describe("pretrain resumes bit for bit", () => {
    it("stopped between checkpoints and resumed: the same GGUF, the same loss history", async () => {
        const out = path.join(dir, "stopped.gguf");
        const workDir = path.join(dir, "stopped");
        const stopped = await pretrain(config, { out, workDir, resume: false, stopAtStep: 3 });
        expect(stopped.finished).toBe(false);
        expect(existsSync(out)).toBe(false);
        expect(await checkpointSteps(workDir)).toEqual([3]);

        let startStep = -1;
        const losses: number[] = [];
        const resumed = await pretrain(config, { out, workDir, resume: true, onStart: (info) => (startStep = info.startStep), onTick: (tick) => losses.push(tick.loss) });
        expect(startStep).toBe(3);
        expect(losses).toEqual(reference.losses.slice(3));
        expect(resumed).toEqual(reference.result);
        expect((await readFile(out)).equals(reference.file)).toBe(true);
    });

    it("killed (SIGKILL) after its first checkpoint and restarted with --resume: the same GGUF", async () => {
        const out = path.join(dir, "killed.gguf");
        const workDir = path.join(dir, "killed");
        const args = [path.join(projectRoot, "bin", "crayon.js"), "pretrain", "--config", configFile, "--out", out, "--work-dir", workDir];
        const run = (extra: string[]) => spawn(process.execPath, [...args, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
        const exited = (child: ReturnType<typeof run>) =>
            new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

        const first = run([]);
        const firstExit = exited(first);
        while ((await checkpointSteps(workDir)).length === 0) {
            if (first.exitCode !== null) throw new Error("the run ended before its first checkpoint could be seen");
            await new Promise((resolve) => setTimeout(resolve, 10));
        }
        first.kill("SIGKILL");
        expect((await firstExit).signal).toBe("SIGKILL");
        const [killedAt] = await checkpointSteps(workDir);
        expect(killedAt).toBeLessThan(config.steps);
        expect(existsSync(out)).toBe(false);

        const second = run(["--resume"]);
        let stderr = "";
        second.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        expect(await exited(second)).toEqual({ code: 0, signal: null });
        expect(stderr).toContain(`resuming at step ${killedAt}`);
        expect((await readFile(out)).equals(reference.file)).toBe(true);
    });
});

describe("pretrain --export-checkpoint", () => {
    // the finished run's last checkpoint holds the weights its GGUF was written from: same tensor bytes
    it("writes the newest checkpoint as a GGUF without training: at the last step, the finished model's tensors", async () => {
        const out = path.join(dir, "exported.gguf");
        const args = [path.join(projectRoot, "bin", "crayon.js"), "pretrain", "--config", configFile, "--work-dir", reference.workDir, "--export-checkpoint", "--out", out];
        const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        expect(await new Promise((resolve) => child.on("exit", resolve))).toBe(0);
        expect(stdout).toContain(`checkpoint at step ${config.steps} of ${config.steps}`);
        expect(await checkpointSteps(reference.workDir)).toEqual([config.steps]);

        const exported = await readGguf(out);
        const finished = await readGguf(path.join(dir, "reference.gguf"));
        expect(metadataString(exported, "general.name")).toBe(`${config.name}-step-${config.steps}`);
        const dataOf = async (file: string, gguf: typeof exported) => (await readFile(file)).subarray(gguf.dataOffset);
        expect((await dataOf(out, exported)).equals(await dataOf(path.join(dir, "reference.gguf"), finished))).toBe(true);
    });

    it("refuses a work folder without a checkpoint, naming it", async () => {
        const empty = path.join(dir, "never-started");
        const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "pretrain", "--config", configFile, "--work-dir", empty, "--export-checkpoint"], { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        expect(await new Promise((resolve) => child.on("exit", resolve))).not.toBe(0);
        expect(stderr).toContain(path.join(empty, "checkpoints"));
        expect(stderr).toContain("no checkpoint to export");
    });
});

describe("pretrain learns", () => {
    // the reference run's own losses: a rise of the learning rate, a wrong gradient or a frozen weight shows here
    it("lowers the training loss by more than a nat within 12 steps", () => {
        const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
        expect(reference.losses).toHaveLength(config.steps);
        expect(mean(reference.losses.slice(-3))).toBeLessThan(mean(reference.losses.slice(0, 3)) - 1);
    });

    // scored by llama.cpp on the exported file: the trained weights, not the initial ones, went into it
    it("exports a valid GGUF that node-llama-cpp loads and that predicts the answers better than its initialisation", async () => {
        const out = path.join(dir, "reference.gguf");
        validateLlamaModel(await readGguf(out), { requireDecodable: true });
        const corpus = (await loadBenchmark(config.benchmark)).pretrain!.slice(0, 24);
        const runtime = await LlamaRuntime.create({ threads: 1 });
        try {
            const lossOf = async (file: string) => {
                const model = await runtime.loadModel(file);
                return (await answerMetrics(runtime, model, new ItemEncoder(model, file), corpus)).loss;
            };
            const initial = await lossOf(path.join(reference.workDir, "init.gguf"));
            const trained = await lossOf(out);
            expect(trained).toBeLessThan(initial - 0.5);
        } finally {
            await runtime.dispose();
        }
    });
});

describe("assertNoTestLeak", () => {
    const item = (id: string, question: string, context?: string): QaItem => ({ id, source: "world", task: "t", question, choices: ["yes", "no"], answer: 0, ...(context === undefined ? {} : { context }) });
    const tests = [item("world/t/9", "Is nine odd?"), item("world/t/8", "Is it warm?", "In Ulm, in May.")];

    it("accepts a corpus without test items", () => {
        expect(() => assertNoTestLeak([item("world/t/1", "Is one odd?"), item("world/t/2", "Is it warm?", "In Oslo, in May.")], tests, "tiny")).not.toThrow();
    });

    it("refuses a corpus holding a test item, by id or by question", () => {
        expect(() => assertNoTestLeak([item("world/t/1", "Is one odd?"), tests[0]!], tests, "tiny")).toThrow(CrayonError);
        expect(() => assertNoTestLeak([item("world/t/7", "Is nine odd?")], tests, "tiny")).toThrow("benchmark tiny: pre-training item world/t/7 is also a test item");
        expect(() => assertNoTestLeak([item("world/t/6", "Is it warm?", "In Ulm, in May.")], tests, "tiny")).toThrow(/world\/t\/6/);
    });
});

describe("pretrainCorpus", () => {
    it("is the world's corpus for the server, and for the device the same without the pool's items and the server's own; never a test item", async () => {
        const world = await loadBenchmark("world");
        const all = pretrainCorpus(world, { benchmark: "world" });
        const device = pretrainCorpus(world, { benchmark: "world", deviceCorpus: true });
        const poolIds = new Set(world.pool.map((item) => item.id));
        const serverOnlyIds = new Set(world.serverOnly!.map((item) => item.id));
        expect(all.filter((item) => poolIds.has(item.id)).length).toBe(world.pool.length);
        expect(all.filter((item) => serverOnlyIds.has(item.id)).length).toBe(world.serverOnly!.length);
        expect(device.some((item) => poolIds.has(item.id) || serverOnlyIds.has(item.id))).toBe(false);
        expect(device.length).toBe(all.length - world.pool.length - world.serverOnly!.length);
        // the device learns the rule tasks of the pool from their pre-training parts, but no far entity's task and no forge task
        const deviceTasks = new Set(device.map((item) => item.task));
        expect([...deviceTasks].filter((task) => task.includes(".far.") || task.startsWith("forge."))).toEqual([]);
        for (const task of ["rank.max", "rank.max2", "rank.min2", "spell.first", "spell.length", "spell.count"]) expect(deviceTasks.has(task), task).toBe(true);
        const testIds = new Set([...world.userTasks.flatMap((task) => task.test), ...world.outOfScope].map((item) => item.id));
        expect(all.some((item) => testIds.has(item.id))).toBe(false);
    });

    it("neither shipped model's corpus holds a test item of the world benchmark, by id or by question", async () => {
        const world = await loadBenchmark("world");
        const tests = [...world.userTasks.flatMap((task) => task.test), ...world.outOfScope];
        for (const config of Object.values(SHIPPED_MODELS)) {
            const corpus = pretrainCorpus(await loadBenchmark(config.benchmark), config);
            expect(corpus.length).toBeGreaterThan(10000);
            expect(() => assertNoTestLeak(corpus, tests, "world")).not.toThrow();
        }
    });
});

