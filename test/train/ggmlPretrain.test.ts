import { readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CrayonError } from "../../src/errors.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import type { PretrainConfig } from "../../src/train/pretrainConfig.js";
import { pretrain } from "../../src/train/pretrainer.js";
import { writeTinyPretrainFiles } from "./tinyPretrain.js";

// Pre-training on the ggml engine (a child process): two uninterrupted runs give the same GGUF bytes;
// the child killed with SIGKILL mid-run gives a one-line error and --resume ends at those same bytes;
// a native abort (a real GGML_ASSERT) surfaces as one line naming the step and the intact checkpoint.
let dir: string;
let config: PretrainConfig;
let reference: { file: Buffer; losses: number[] };

const checkpointSteps = async (workDir: string): Promise<number[]> =>
    (await readdir(path.join(workDir, "checkpoints")).catch(() => [] as string[])).flatMap((name) => {
        const match = /^step-(\d{8})\.ckpt$/.exec(name);
        return match ? [Number(match[1])] : [];
    });

/** Process ids of this process's children (the ggml training process is the only one while a run goes). */
const childPids = (): number[] =>
    readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);

beforeAll(async () => {
    process.env["CRAYON_THREADS"] = "1"; // ggml's threads spin at barriers: one thread is the fast choice on a shared machine
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-ggml-pretrain-"));
    config = await writeTinyPretrainFiles(path.join(dir, "tiny-world.json"), path.join(dir, "tiny-config.json"));
    const out = path.join(dir, "reference.gguf");
    const losses: number[] = [];
    await pretrain(config, { out, workDir: path.join(dir, "reference"), resume: false, engine: "ggml", onTick: (tick) => losses.push(tick.loss) });
    reference = { file: await readFile(out), losses };
}, 60_000);
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("pretrain --engine ggml", () => {
    it("learns: the loss falls by more than a nat in 12 steps", () => {
        const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
        expect(reference.losses).toHaveLength(config.steps);
        expect(mean(reference.losses.slice(-3))).toBeLessThan(mean(reference.losses.slice(0, 3)) - 1);
    });

    it("is deterministic: a second run writes the same GGUF bytes", async () => {
        const out = path.join(dir, "again.gguf");
        await pretrain(config, { out, workDir: path.join(dir, "again"), resume: false, engine: "ggml" });
        expect((await readFile(out)).equals(reference.file)).toBe(true);
    }, 60_000);

    it("training process killed with SIGKILL mid-run: one line naming the step, and --resume ends at the same bytes", async () => {
        const out = path.join(dir, "killed.gguf");
        const workDir = path.join(dir, "killed");
        const failure = await pretrain(config, {
            out,
            workDir,
            resume: false,
            engine: "ggml",
            onTick: (tick) => {
                if (tick.step === 5) for (const pid of childPids()) process.kill(pid, "SIGKILL");
            }
        }).catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(CrayonError);
        const message = (failure as Error).message;
        expect(message).not.toContain("\n");
        expect(message).toContain("at step 6: killed by SIGKILL");
        expect(message).toContain(`the checkpoint at step 4 in ${path.join(workDir, "checkpoints")} is intact: continue with --resume`);
        expect(await checkpointSteps(workDir)).toEqual([4]);

        const losses: number[] = [];
        const resumed = await pretrain(config, { out, workDir, resume: true, engine: "ggml", onTick: (tick) => losses.push(tick.loss) });
        expect(resumed.finished).toBe(true);
        expect(losses).toEqual(reference.losses.slice(4));
        expect((await readFile(out)).equals(reference.file)).toBe(true);
    }, 60_000);

    it("a native abort (GGML_ASSERT) in the training process: one line with the step, the assertion and the checkpoint", async () => {
        const workDir = path.join(dir, "aborted");
        process.env["CRAYON_GGML_ABORT_AT_STEP"] = "3";
        try {
            const failure = await pretrain(config, { out: path.join(dir, "aborted.gguf"), workDir, resume: false, engine: "ggml" }).catch((error: unknown) => error);
            expect(failure).toBeInstanceOf(CrayonError);
            const message = (failure as Error).message;
            expect(message).not.toContain("\n");
            expect(message).toMatch(/^ggml training process stopped at step 3: ggml\.c:\d+: GGML_ASSERT\(.*\) failed; the checkpoint at step 2 in /);
            expect(await checkpointSteps(workDir)).toEqual([2]);
        } finally {
            delete process.env["CRAYON_GGML_ABORT_AT_STEP"];
        }
    }, 60_000);
});
