import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { areaUnderCurve } from "../../src/eval/routingCurve.js";
import { summaryTable } from "../../src/eval/summaryTable.js";
import { SWEPT_POLICIES, type EvalResults, type RoutingResult } from "../../src/eval/types.js";
import { sha256File } from "../../src/pool/fingerprint.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { startOpenAiServer } from "../../src/runtime/server/openaiServer.js";
import { expectOneLineError, runCrayon } from "../cli/runCrayon.js";
import { compileCli } from "../data/cli.js";
import { writeEvalFixture, type EvalFixture } from "./evalFixtures.js";

let dir: string;
let fixture: EvalFixture;
let first: EvalResults;
let firstStdout: string;

const evalArgs = (out: string, ...extra: string[]) => [
    "eval", "--model", fixture.devicePath, "--pool", fixture.poolDir, "--server-model", fixture.serverPath,
    "--benchmark", fixture.benchmarkPath, "--k-shot", "4", "--lorahub-budget", "6", "--seed", "3", "--out", out, ...extra
];

beforeAll(async () => {
    compileCli(); // the server is `crayon serve` run through the bin, as a child process
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-eval-"));
    fixture = await writeEvalFixture(dir);
    const run = await runCrayon(evalArgs(path.join(dir, "run1"), "--json"));
    expect(run.stderr).not.toMatch(/crayon:/);
    expect(run.code).toBe(0);
    firstStdout = run.stdout;
    first = JSON.parse(run.stdout) as EvalResults;
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

describe("crayon eval on a tiny configuration", () => {
    it("prints results.json on stdout with --json, the same as the file written", () => {
        expect(JSON.parse(readFileSync(path.join(dir, "run1", "results.json"), "utf8"))).toEqual(first);
        expect(firstStdout.trimStart().startsWith("{")).toBe(true);
    });

    it("records the exact configuration with the files' hashes", async () => {
        const { config } = first;
        expect(config.deviceModel.sha256).toBe(await sha256File(fixture.devicePath));
        expect(config.pool.manifestSha256).toBe(await sha256File(path.join(fixture.poolDir, "manifest.json")));
        expect(config.server).toEqual({ kind: "spawned", model: { path: fixture.serverPath, sha256: await sha256File(fixture.serverPath) }, modelId: "server" });
        expect(config.benchmark.sha256).toBe(await sha256File(fixture.benchmarkPath));
        expect(config).toMatchObject({ methods: ["base", "uniform", "top1", "crayon", "crayon-strength", "lorahub", "oracle"], hybridMethod: "crayon", kShot: 4, seed: 3, lorahubBudget: 6 });
    });

    it("scores every method on every task's test items, and the oracle is the best pool adapter", () => {
        expect(first.tasks.map((t) => t.task)).toEqual(["rank.min", "zoo.far.quiz"]);
        for (const task of first.tasks) {
            expect(task.shotIds).toHaveLength(4);
            expect(task.testIds).toHaveLength(6);
            for (const method of first.config.methods) {
                const result = task.methods[method]!;
                expect(result.choices).toHaveLength(6);
                expect(result.accuracy).toBeCloseTo(result.correct / 6, 12);
                if (method !== "base" && method !== "oracle") expect(existsSync(path.join(dir, "run1", result.blend!.adapter))).toBe(true);
            }
            const oracle = task.methods.oracle!.oracle!;
            expect(task.methods.oracle!.accuracy).toBe(Math.max(...Object.values(oracle.accuracyByAdapter)));
            expect(task.methods.lorahub!.blend!.search!.evaluations).toBeLessThanOrEqual(6);
            expect(task.server.accuracy).toBeCloseTo(task.server.correct / 6, 12);
        }
        for (const method of first.config.methods) expect(first.summary.methods[method]).toBeCloseTo(mean(first.tasks.map((t) => t.methods[method]!.accuracy)), 12);
        // every method against base, and crayon against uniform: the difference of the two means, inside its interval
        const compared = first.summary.comparisons.map((c) => `${c.method}-${c.against}`);
        expect(compared).toEqual([...first.config.methods.filter((m) => m !== "base").map((m) => `${m}-base`), "crayon-uniform"]);
        for (const c of first.summary.comparisons) {
            expect(c.difference).toBeCloseTo(first.summary.methods[c.method]! - first.summary.methods[c.against]!, 12);
            expect(c.low).toBeLessThanOrEqual(c.difference);
            expect(c.high).toBeGreaterThanOrEqual(c.difference);
        }
    });

    it("routes over the test items plus as many out-of-scope queries, consistently with the device and server scores", () => {
        for (const task of first.tasks) {
            const { records } = task.routing;
            expect(records.filter((r) => r.inScope).map((r) => r.id)).toEqual(task.testIds);
            expect(records.filter((r) => !r.inScope)).toHaveLength(6);
            const inScope = records.filter((r) => r.inScope);
            expect(inScope.map((r) => r.deviceChoice)).toEqual(task.methods.crayon!.choices);
            expect(inScope.map((r) => r.serverChoice)).toEqual(task.server.choices);
            expect(task.routing.deviceAccuracy).toBeCloseTo(mean(records.map((r) => Number(r.deviceCorrect))), 12);
            expect(task.routing.serverAccuracy).toBeCloseTo(mean(records.map((r) => Number(r.serverCorrect))), 12);
            expectConsistentRouting(task.routing);
        }
        const overall = first.summary.routing;
        expectConsistentRouting(overall);
        expect(overall.deviceAccuracy).toBeCloseTo(mean(first.tasks.map((t) => t.routing.deviceAccuracy)), 12);
        for (const policy of SWEPT_POLICIES) {
            expect(overall.policies[policy].auc).toBeCloseTo(mean(first.tasks.map((t) => t.routing.policies[policy].auc)), 12);
        }
    });

    it("writes the plots as SVG and PNG", () => {
        for (const name of ["routing", "routing-by-task", "methods"]) {
            expect(readFileSync(path.join(dir, "run1", `${name}.svg`), "utf8")).toMatch(/^<svg/);
            expect(readFileSync(path.join(dir, "run1", `${name}.png`)).subarray(1, 4).toString()).toBe("PNG");
        }
    });

    it("stops the server it started", async () => {
        await expect(fetch(`${first.timings.serverUrl.replace(/\/v1$/, "")}/health`)).rejects.toThrow();
    });

    it("gives the same results for the same seed (timings aside), and prints the table without --json", async () => {
        const run = await runCrayon(evalArgs(path.join(dir, "run2")));
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(/Accuracy \(%\) on each task's test items/);
        expect(run.stdout).toMatch(/confidence\+scope/);
        expect(run.stdout).toMatch(/CPT\(50%\)/);
        const second = JSON.parse(readFileSync(path.join(dir, "run2", "results.json"), "utf8")) as EvalResults;
        expect(withoutTimings(second)).toEqual(withoutTimings(first));
    }, 300_000);

    it("names the models in the table relative to the working folder when inside it, else in full", () => {
        const inside = path.join(process.cwd(), "models", "device.gguf");
        const table = summaryTable({ ...first, config: { ...first.config, deviceModel: { ...first.config.deviceModel, path: inside } } });
        expect(table).toContain(`device ${path.join("models", "device.gguf")} with pool`);
        expect(summaryTable(first)).toContain(`device ${fixture.devicePath} with pool`); // a temporary folder
        expect(summaryTable(first)).toContain(`server ${fixture.serverPath}`);
    });
});

describe("crayon eval with a running server", () => {
    it("asks the server given by --server-url (with its key) and gets the same answers as from the spawned one", async () => {
        const runtime = await LlamaRuntime.create({ threads: 1 });
        try {
            const model = await runtime.loadModel(fixture.serverPath);
            const context = await runtime.createContext(model, { contextSize: model.trainContextSize });
            const server = await startOpenAiServer({ served: { id: "served-elsewhere", model, sequence: context.getSequence() }, apiKey: "k" });
            try {
                const args = evalArgs(path.join(dir, "run-url"), "--json", "--methods", "base,crayon", "--server-url", `${server.url}/v1`, "--api-key", "k", "--top-logprobs", "1000");
                args.splice(args.indexOf("--server-model"), 2);
                const run = await runCrayon(args);
                expect(run.code).toBe(0);
                const results = JSON.parse(run.stdout) as EvalResults;
                expect(results.config.server).toEqual({ kind: "url", url: `${server.url}/v1`, modelId: "served-elsewhere" });
                expect(results.tasks.map((t) => t.server.choices)).toEqual(first.tasks.map((t) => t.server.choices));
            } finally {
                await server.close();
                await context.dispose();
            }
        } finally {
            await runtime.dispose();
        }
    }, 300_000);
});

describe("crayon eval refuses bad input with one line and starts nothing", () => {
    it.each([
        ["a missing pool", ["--pool", "/nonexistent/pool"], /\/nonexistent\/pool: no manifest\.json/],
        ["an unknown method", ["--methods", "base,best"], /--methods must be one of base, uniform/],
        ["oracle as the hybrid method", ["--hybrid-method", "oracle"], /--hybrid-method must be one of base, uniform, top1, crayon, crayon-strength, lorahub, found "oracle"/],
        ["both a server model and a URL", ["--server-url", "http://127.0.0.1:9/v1"], /--server-model or --server-url, not both/],
        ["more shots than a task has", ["--k-shot", "9"], /cannot draw 9 shots for rank\.min/],
        ["a k of zero", ["--k-shot", "0"], /--k-shot must be an integer ≥ 1/]
    ])("%s", async (_, extra, pattern) => {
        const out = path.join(dir, `bad-${extra.join("")}`.replace(/[^\w-]/g, "_"));
        const args = evalArgs(out);
        for (let i = 0; i < extra.length; i += 2) {
            const at = args.indexOf(extra[i]!);
            if (at >= 0) args[at + 1] = extra[i + 1]!;
            else args.push(extra[i]!, extra[i + 1]!);
        }
        expectOneLineError(await runCrayon(args), pattern);
        expect(existsSync(out)).toBe(false);
    });
});

/** The curve properties every routing result must have, per policy. */
function expectConsistentRouting(routing: RoutingResult): void {
    for (const policy of SWEPT_POLICIES) {
        const { curve, auc, apgr, cpt50, atShares } = routing.policies[policy];
        expect(curve[0]!.serverShare).toBe(0);
        expect(curve[0]!.accuracy).toBeCloseTo(routing.deviceAccuracy, 12);
        expect(curve.at(-1)!.serverShare).toBe(1);
        expect(curve.at(-1)!.accuracy).toBeCloseTo(routing.serverAccuracy, 12);
        for (let i = 1; i < curve.length; i++) expect(curve[i]!.serverShare).toBeGreaterThan(curve[i - 1]!.serverShare);
        const accuracies = curve.map((p) => p.accuracy);
        expect(auc).toBeGreaterThanOrEqual(Math.min(...accuracies) - 1e-12);
        expect(auc).toBeLessThanOrEqual(Math.max(...accuracies) + 1e-12);
        expect(auc).toBeCloseTo(areaUnderCurve(curve), 12);
        if (apgr !== null) expect(apgr).toBeCloseTo((auc - routing.deviceAccuracy) / (routing.serverAccuracy - routing.deviceAccuracy), 12);
        expect(curve.map((p) => p.serverShare)).toContain(cpt50);
        expect(atShares.map((p) => p.serverShare)).toEqual([0.1, 0.2, 0.3]);
    }
}

function withoutTimings(results: EvalResults): Omit<EvalResults, "timings"> {
    const { timings: _timings, ...rest } = results;
    return rest;
}
