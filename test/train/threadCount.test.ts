import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/version.js";
import { writeTinyPretrainFiles } from "./tinyPretrain.js";

let dir: string;
let configFile: string;

beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "crayon-threads-"));
    configFile = path.join(dir, "tiny-config.json");
    await writeTinyPretrainFiles(path.join(dir, "tiny-world.json"), configFile);
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("pretrain does not depend on the thread count", () => {
    // `npm run models` trains on one wasm thread; the same config at two threads must give the same file
    it("one and two wasm threads (separate processes) give the same GGUF", async () => {
        const files: Buffer[] = [];
        for (const threads of [1, 2]) {
            const out = path.join(dir, `threads-${threads}.gguf`);
            const args = [path.join(projectRoot, "bin", "crayon.js"), "pretrain", "--config", configFile, "--out", out, "--work-dir", path.join(dir, `threads-${threads}`)];
            const child = spawn(process.execPath, args, { stdio: "ignore", env: { ...process.env, CRAYON_TF_BACKEND: "wasm", CRAYON_THREADS: String(threads) } });
            expect(await new Promise((resolve) => child.on("exit", resolve)), `${threads} thread(s)`).toBe(0);
            files.push(await readFile(out));
        }
        expect(files[0]!.equals(files[1]!)).toBe(true);
    });
});
