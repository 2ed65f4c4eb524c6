import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PARTIAL_FILE, type PartialResults } from "../../src/eval/partialResults.js";
import type { EvalResults } from "../../src/eval/types.js";
import { projectRoot } from "../../src/version.js";
import { compileCli } from "../data/cli.js";
import { writeEvalFixture, type EvalFixture } from "./evalFixtures.js";

let dir: string;
let fixture: EvalFixture;
let uninterrupted: EvalResults;

const evalArgs = (out: string, ...extra: string[]) => [
    "eval", "--model", fixture.devicePath, "--pool", fixture.poolDir, "--server-model", fixture.serverPath, "--benchmark", fixture.benchmarkPath,
    "--methods", "base,crayon,lorahub,oracle", "--k-shot", "4", "--lorahub-budget", "6", "--seed", "3", "--out", out, ...extra
];

interface Exit {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** `crayon <args>` through the bin in a child process; `whileRunning` may signal it. */
function crayon(args: string[], whileRunning?: (child: ReturnType<typeof spawn>) => void): Promise<Exit> {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), ...args], { cwd: projectRoot });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    whileRunning?.(child);
    return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

/** Sends SIGINT once the run's partial results hold a finished task. */
function interruptAfterFirstTask(out: string) {
    return (child: ReturnType<typeof spawn>) => {
        const poll = setInterval(() => {
            const partial = readPartial(out);
            if (partial !== undefined && partial.tasks.length >= 1) {
                clearInterval(poll);
                child.kill("SIGINT");
            }
        }, 20);
        child.on("close", () => clearInterval(poll));
    };
}

function readPartial(out: string): PartialResults | undefined {
    const file = path.join(out, PARTIAL_FILE);
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as PartialResults) : undefined; // written atomically: never a part
}

function withoutTimings(results: EvalResults): Omit<EvalResults, "timings"> {
    const { timings: _timings, ...rest } = results;
    return rest;
}

beforeAll(async () => {
    compileCli(); // the eval and its server run through the bin, as child processes
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-eval-resume-"));
    fixture = await writeEvalFixture(dir);
    const run = await crayon(evalArgs(path.join(dir, "whole")));
    expect(run.stderr).not.toMatch(/crayon:/);
    expect(run.code).toBe(0);
    uninterrupted = JSON.parse(readFileSync(path.join(dir, "whole", "results.json"), "utf8")) as EvalResults;
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("crayon eval stopped and resumed", () => {
    it("stops on SIGINT after its first task with one line, and --resume finishes it with the uninterrupted run's results", async () => {
        const out = path.join(dir, "stopped");
        const stopped = await crayon(evalArgs(out), interruptAfterFirstTask(out));
        expect(stopped.code).toBe(130);
        expect(stopped.stderr.trimEnd().split("\n").at(-1)).toMatch(/^SIGINT: eval stopped, server shut down; finished tasks kept in .*partial\.json: run the same command with --resume to continue$/);
        expect(existsSync(path.join(out, "results.json"))).toBe(false);
        const partial = readPartial(out)!;
        expect(partial.tasks.map((t) => t.task)).toEqual(["rank.min"]);

        // another seed is another run: refused in one line, the partial results left as they were
        const other = await crayon([...evalArgs(out, "--resume"), "--seed", "4"]);
        expect(other.code).not.toBe(0);
        expect(other.stderr.trimEnd().split("\n")).toHaveLength(1);
        expect(other.stderr).toMatch(/--resume: the run stopped in .* had other options, benchmark, models or pool/);
        expect(readPartial(out)).toEqual(partial);
        // and a new run there would overwrite it: refused
        const fresh = await crayon(evalArgs(out));
        expect(fresh.code).not.toBe(0);
        expect(fresh.stderr).toMatch(/holds a stopped run; add --resume/);

        const resumed = await crayon(evalArgs(out, "--resume"));
        expect(resumed.stderr).not.toMatch(/crayon:/);
        expect(resumed.code).toBe(0);
        const results = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as EvalResults;
        expect(results.timings.resumed).toEqual({ tasks: 1, serverItems: partial.serverScores.length });
        expect(withoutTimings(results)).toEqual(withoutTimings(uninterrupted));
        expect(existsSync(path.join(out, PARTIAL_FILE))).toBe(false);
    }, 300_000);

    it("refuses --resume where no run stopped", async () => {
        const run = await crayon(evalArgs(path.join(dir, "whole"), "--resume"));
        expect(run.code).not.toBe(0);
        expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
        expect(run.stderr).toMatch(/--resume: .*whole holds no stopped run \(no partial\.json\)/);
    });
});
