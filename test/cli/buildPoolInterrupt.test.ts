/** Ctrl-C during build-pool says where the finished work is and how to continue, and exits 130. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "../runtime/fixtures.js";

let dir: string;

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-build-pool-interrupt-"));
    await writeTestModel(path.join(dir, "model.gguf"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("build-pool stopped by Ctrl-C", () => {
    it("exits 130 with one line saying how to resume", async () => {
        const out = path.join(dir, "pool");
        const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "build-pool", "--model", path.join(dir, "model.gguf"), "--clusters", "2", "--steps", "5", "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
            if (stderr.includes("embedded")) child.kill("SIGINT"); // the build is under way
        });
        const code = await new Promise<number | null>((resolve) => child.on("exit", (exitCode) => resolve(exitCode)));
        expect(code, stderr).toBe(130);
        expect(stderr.trimEnd().split("\n").at(-1)).toBe(`SIGINT: build-pool stopped; the finished adapters are kept in ${out} — run the same command again to continue`);
    });
});
