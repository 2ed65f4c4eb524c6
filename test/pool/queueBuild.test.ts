import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { buildPool } from "../../src/pool/buildPool.js";
import { loadPool } from "../../src/pool/loadPool.js";
import { createLoraOptimization } from "../../src/train/loraOptimization.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { queueTraining } from "../../src/pool/queue/queueTraining.js";
import { checkRedis, parseRedisUrl } from "../../src/pool/queue/redisConnection.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { tinyBuild, writeTinyBenchmark } from "./poolFixtures.js";
import { redisServerInstalled, startTestRedis, type TestRedis } from "./redisServer.js";

// one engine and one thread everywhere, in this process (the local build) and in the workers it starts: the same arithmetic
process.env.CRAYON_ENGINE = "wasm";
process.env.CRAYON_TF_BACKEND = "wasm";
process.env.CRAYON_THREADS = "1";
process.env.CRAYON_LLAMA_THREADS = "1";

/** 30 steps, a checkpoint every 5: a worker is killed once it has written one, before its job ends. */
const build = tinyBuild;
const PASSWORD = "pool s3cret/:@";

let dir: string;
let items: QaItem[];
let redis: TestRedis;
let reference: PoolManifest;
const children: ChildProcess[] = [];
const model = () => path.join(dir, "base.gguf");

/** A manifest without its timings, which are all that may differ between two builds of the same pool. */
function withoutTimings(manifest: PoolManifest): unknown {
    return { ...manifest, adapters: manifest.adapters.map((a) => ({ ...a, training: { ...a.training, seconds: 0, tokensPerSecond: 0 } })) };
}

async function expectSameAsLocal(out: string): Promise<void> {
    const { manifest, adapterPaths } = await loadPool(out, { baseModelPath: model() });
    expect(withoutTimings(manifest)).toEqual(withoutTimings(reference));
    for (const [i, file] of adapterPaths.entries()) expect(await readFile(file)).toEqual(await readFile(path.join(dir, "local", "pool", reference.adapters[i]!.file)));
    expect(await readdir(out)).not.toContain("checkpoints");
}

/**
 * A `crayon worker` process; resolves once it is taking jobs, with its stderr so far and to come. A short
 * `stallSeconds` makes a killed worker's job change hands quickly, but on a busy machine a live worker may
 * then lose a job too and train it twice (the same adapter, later): the default keeps that rare.
 */
async function startWorker(modelPath: string, workDir: string, stallSeconds = 10): Promise<{ child: ChildProcess; log: () => string }> {
    const args = ["worker", "--queue", redis.url, "--model", modelPath, "--work-dir", workDir, "--stall-seconds", String(stallSeconds)];
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), ...args], { stdio: ["ignore", "ignore", "pipe"] });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    while (!stderr.includes("worker for")) {
        if (child.exitCode !== null) throw new Error(`worker exited: ${stderr}`);
        await sleep(50);
    }
    return { child, log: () => stderr };
}

const queued = (out: string, attempts = 3) =>
    buildPool({ ...build, modelPath: model(), items, dataLabel: "tiny-world", outDir: out, createOptimization: createLoraOptimization, remote: queueTraining({ redis: parseRedisUrl(redis.url, "--queue"), attempts }) });

const why = redisServerInstalled ? "" : " (skipped: redis-server is not installed; apt-get install redis-server)";

describe.skipIf(!redisServerInstalled)(`build-pool --queue with crayon workers on a real Redis${why}`, () => {
    beforeAll(async () => {
        await setupEngine();
        dir = await mkdtemp(path.join(tmpdir(), "crayon-queue-"));
        redis = await startTestRedis(dir, PASSWORD);
        await writeTestModel(model(), 5);
        await writeTestModel(path.join(dir, "other.gguf"), 6);
        await writeTinyBenchmark(path.join(dir, "tiny.json"));
        items = (await loadBenchmark(path.join(dir, "tiny.json"))).pool;
        // every queued build below goes into a folder of the same name, "pool", so its adapters' names match
        reference = await buildPool({ ...build, modelPath: model(), items, dataLabel: "tiny-world", outDir: path.join(dir, "local", "pool"), createOptimization: createLoraOptimization });
    });
    afterEach(async () => {
        for (const child of children.splice(0)) child.kill("SIGKILL");
        await redis.flush();
    });
    afterAll(async () => {
        await redis?.stop();
        await rm(dir, { recursive: true, force: true });
    });

    it("a wrong password is one line naming the server, without any password", async () => {
        const wrong = parseRedisUrl(redis.url.replace(encodeURIComponent(PASSWORD), "not-it"), "--queue");
        await expect(checkRedis(wrong)).rejects.toThrow(/^cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS[^\n]*check the address and password/);
    });

    it("a worker with another base model refuses the jobs; two right workers build the pool a local build makes, bit for bit", async () => {
        const wrong = await startWorker(path.join(dir, "other.gguf"), path.join(dir, "work-wrong"));
        const out = path.join(dir, "two", "pool");
        const building = queued(out);
        building.catch(() => undefined); // awaited below; a test failing before that must not leave it unhandled
        while (!wrong.log().includes("refused")) await sleep(20);
        const workDir = path.join(dir, "work-two");
        const workers = await Promise.all([startWorker(model(), workDir), startWorker(model(), workDir)]);
        await building;
        await expectSameAsLocal(out);
        expect(wrong.log()).toMatch(/c0\d: refused, the build is for base model base\.gguf .* this worker has other\.gguf/);
        expect(wrong.log()).not.toMatch(/c0\d: training/);
        const trained = new Set(workers.flatMap((w) => [...w.log().matchAll(/(c\d\d): done in/g)].map((m) => m[1])));
        expect([...trained].sort()).toEqual(["c00", "c01", "c02"]);
        // the logs name clusters and sizes, never an item's text or the password
        for (const worker of [wrong, ...workers]) {
            expect(worker.log()).not.toContain(items[0]!.question);
            expect(worker.log()).not.toContain("s3cret");
        }
    });

    it("a worker killed mid-job: another continues the job from its checkpoint, same pool", async () => {
        const workDir = path.join(dir, "work-kill");
        const first = await startWorker(model(), workDir, 2);
        const out = path.join(dir, "kill", "pool");
        const building = queued(out);
        building.catch(() => undefined); // awaited below; a test failing before that must not leave it unhandled
        const checkpoint = async () => (await readdir(workDir, { recursive: true }).catch(() => [] as string[])).some((f) => f.endsWith(".ckpt"));
        while (!(await checkpoint())) await sleep(10);
        first.child.kill("SIGKILL");
        const second = await startWorker(model(), workDir, 2);
        await building;
        expect(second.log()).toMatch(/c0\d: training, continuing at step [1-9]\d* of 30/);
        await expectSameAsLocal(out);
    });

    it("Redis restarted empty mid-build: worker and coordinator reconnect, the lost jobs are queued again, same pool", async () => {
        const workDir = path.join(dir, "work-restart");
        const worker = await startWorker(model(), workDir);
        const out = path.join(dir, "restart", "pool");
        const building = queued(out);
        building.catch(() => undefined); // awaited below; a test failing before that must not leave it unhandled
        while (!/c0\d: training/.test(worker.log())) await sleep(20);
        await redis.restart();
        await building;
        await expectSameAsLocal(out);
        // the job in hand when Redis lost it was queued again and trained again: one start more than three jobs
        expect(worker.log().match(/c0\d: training/g)!.length).toBeGreaterThanOrEqual(4);
    });

    it("a job failing on every try ends the build naming its cluster; the folder stays a valid, resumable pool", async () => {
        const workDir = path.join(dir, "work-broken");
        await startWorker(model(), workDir);
        // the worker's checkpoint folder becomes a file: every job fails making its folder there
        await rm(workDir, { recursive: true, force: true });
        await writeFile(workDir, "");
        const out = path.join(dir, "broken", "pool");
        await expect(queued(out, 2)).rejects.toThrow(/c0\d failed 2 times \(.*ENOTDIR.*\).*run the same command again/);
        expect((await loadPool(out, { baseModelPath: model() })).manifest.adapters).toEqual([]);
    });

    it("Ctrl-C on the coordinator: the same command run again collects the jobs and completes the pool", async () => {
        const workDir = path.join(dir, "work-interrupt");
        await mkdir(workDir, { recursive: true });
        await startWorker(model(), workDir);
        const out = path.join(dir, "interrupt", "pool");
        const args = [
            path.join(projectRoot, "bin", "crayon.js"), "build-pool", "--queue", redis.url, "--model", model(), "--benchmark", path.join(dir, "tiny.json"),
            "--clusters", String(build.clusters), "--rank", String(build.rank), "--alpha", String(build.alpha), "--targets", build.targets.join(","),
            "--steps", String(build.steps), "--lr", String(build.learningRate), "--batch", String(build.batchSize), "--seed", String(build.seed),
            "--held-out", String(build.heldOutShare), "--validation", String(build.validationShare), "--out", out
        ];
        const run = () => {
            const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
            children.push(child);
            let stderr = "";
            child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            return { child, exited, stderr: () => stderr };
        };
        const first = run();
        const adaptersWritten = async () => ((JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8").catch(() => "{}")) as Partial<PoolManifest>).adapters ?? []).length;
        while ((await adaptersWritten()) === 0) {
            if (first.child.exitCode !== null) throw new Error(`coordinator exited: ${first.stderr()}`);
            await sleep(20);
        }
        first.child.kill("SIGINT");
        expect(await first.exited).toBe(130);
        expect(first.stderr()).toMatch(/run the same command again to continue/);
        expect(first.stderr()).not.toContain("s3cret");
        expect(await adaptersWritten()).toBeLessThan(3);
        const second = run();
        expect(await second.exited).toBe(0);
        await expectSameAsLocal(out);
    });
});
