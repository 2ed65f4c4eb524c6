import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPool } from "../../src/pool/loadPool.js";
import type { PoolManifest } from "../../src/pool/manifest.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { tinyBuild, writeTinyBenchmark } from "./poolFixtures.js";

let dir: string;
beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-pool-kill-"));
    await writeTestModel(path.join(dir, "base.gguf"), 5);
    await writeTinyBenchmark(path.join(dir, "tiny.json"));
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

const readManifestText = (out: string) => readFile(path.join(out, "manifest.json"), "utf8").catch(() => null);

describe("crayon build-pool after kill -9", () => {
    it("resumes: the finished adapter is kept byte for byte and the pool completes", async () => {
        const out = path.join(dir, "pool");
        const args = [
            path.join(projectRoot, "bin", "crayon.js"), "build-pool", "--model", path.join(dir, "base.gguf"), "--benchmark", path.join(dir, "tiny.json"),
            "--clusters", String(tinyBuild.clusters), "--rank", String(tinyBuild.rank), "--alpha", String(tinyBuild.alpha), "--targets", tinyBuild.targets.join(","),
            "--steps", "60", "--lr", String(tinyBuild.learningRate), "--batch", String(tinyBuild.batchSize), "--seed", String(tinyBuild.seed), "--out", out
        ];
        const run = () => spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CRAYON_THREADS: "1", CRAYON_LLAMA_THREADS: "1" } });
        const exited = (child: ReturnType<typeof run>) => new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

        const first = run();
        const firstExit = exited(first);
        let killedWith: PoolManifest | undefined;
        while (killedWith === undefined) {
            const text = await readManifestText(out);
            const manifest = text === null ? undefined : (JSON.parse(text) as PoolManifest);
            if (manifest !== undefined && manifest.adapters.length >= 1) {
                first.kill("SIGKILL");
                killedWith = manifest;
            }
            if (first.exitCode !== null) throw new Error("the build finished before it could be killed");
            await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await firstExit;

        const second = run();
        let stderr = "";
        second.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        expect(await exited(second)).toBe(0);
        expect(stderr).toMatch(/c00: kept \(sha256 verified\)/);
        const text = (await readManifestText(out))!;
        expect(text).not.toMatch(/\.tmp/);
        const pool = await loadPool(out, { baseModelPath: path.join(dir, "base.gguf") });
        expect(pool.manifest.adapters.map((a) => a.id)).toEqual(["c00", "c01", "c02"]);
        expect(pool.manifest.adapters[0]!.sha256).toBe(killedWith.adapters[0]!.sha256);
    });
});
