/**
 * `/examples` in a running chat calibrates θ exactly as starting with `--examples` does (it used to keep
 * the default 0.50 while saying it had calibrated), reports the pool's coverage of the examples, and a CSV
 * header may be written in any case.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "../runtime/fixtures.js";

let dir: string;
let modelPath: string;
let examplesPath: string;

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-chat-calibration-"));
    modelPath = path.join(dir, "device.gguf");
    await writeTestModel(modelPath, 3);
    examplesPath = path.join(dir, "examples.csv");
    writeFileSync(examplesPath, [
        "Question,A,B,C,D,Answer",
        "which is the cat?,the cat,the dog,the mat,the and,A",
        "which is the dog?,the cat,the dog,the mat,the and,B",
        "what is on the mat?,the cat,the dog,the answer,the and,C",
        "what is the answer?,one,two,three,four,D",
        "is the cat on the mat?,yes,no,,,A",
        "is the dog on the mat?,yes,no,maybe,,B",
        "what is of the answer?,of,and,the,is,C"
    ].join("\n"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("chat's /examples with a pool", () => {
    it("re-blends and reports the coverage, warning with the numbers when the pool does not cover the examples", async () => {
        // random centroids: no task of the examples is near any of them
        const poolDir = path.join(dir, "pool");
        await writeSyntheticPool(poolDir, { modelPath, seed: 5, dimension: 32, adapters: [{ rank: 4, alpha: 8, targets: ["q", "v"] }, { rank: 2, alpha: 4, targets: ["v"] }] });
        const { lines, code, stderr } = await chat(["--pool", poolDir, "--blend-dir", path.join(dir, "blends")], [`/examples ${examplesPath}`]);
        expect(code, stderr).toBe(0);
        expect(lines[1]).toMatch(/^re-blended: blend-[0-9a-f]{12}\.gguf · crayon blend of pool /);
        expect(lines[2]).toMatch(/^coverage: best similarity -?\d\.\d\d \(c00[01]\), weights' entropy \d\.\d\d of at most 0\.69 nats$/);
        expect(lines[3]).toMatch(/^warning: the pool does not cover these examples — their best similarity to a cluster is -?\d\.\d\d \(c00[01]\), below 0\.8/);
    });
});

function chat(args: string[], input: string[]): Promise<{ lines: string[]; code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "chat", "--model", modelPath, "--threads", "1", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input.map((line) => `${line}\n`).join(""));
    return new Promise((resolve) => child.on("exit", (code) => resolve({ lines: stdout.split("\n").filter(Boolean), code, stderr })));
}

describe("chat calibration", () => {
    it("gives the same θ after /examples as with --examples at start", async () => {
        const [atStart, later] = await Promise.all([
            chat(["--examples", examplesPath], ["/policy"]),
            chat([], ["/policy", `/examples ${examplesPath}`, "/policy"])
        ]);
        expect(atStart.code, atStart.stderr).toBe(0);
        expect(later.code, later.stderr).toBe(0);
        expect(atStart.stderr).toContain(`7 examples from ${examplesPath}`);
        const theta = /θ (\d\.\d\d)/;
        expect(later.lines[0]).toMatch(/θ 0\.50/); // the default before any examples
        const calibrated = atStart.lines.at(-1)!;
        expect(calibrated).toMatch(theta);
        expect(later.lines.at(-1)).toBe(calibrated);
        expect(later.lines).toContain(`calibrated to route 30% of the examples: ${calibrated}`);
        // seven examples, 30%: θ is the third-lowest confidence, so two of them route — not the default
        expect(calibrated).not.toMatch(/θ 0\.50/);
    });
});
