import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BENCHMARKS_DIR } from "../../src/data/benchmark/loadBenchmark.js";
import type { TaskAccuracy } from "../../src/runtime/taskAccuracy.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { expectOneLineError, runCrayon } from "./runCrayon.js";

let dir: string;
let modelPath: string;
let benchmarkPath: string;

beforeAll(async () => {
    await tf.setBackend("cpu"); // the random test model is made with tfjs
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-score-cli-"));
    modelPath = path.join(dir, "model.gguf");
    await writeTestModel(modelPath);
    const world = JSON.parse(readFileSync(path.join(BENCHMARKS_DIR, "world.json"), "utf8")) as { name: string; tasks: unknown[] };
    world.name = "tiny-score";
    world.tasks = [
        { task: "rank.max2", role: "pool", pretrain: 12, pool: 8 },
        { task: "rank.min", role: "user", shots: 4, test: 6, pretrain: 5 },
        { task: "spell.first", role: "out-of-scope", test: 4, pretrain: 3 },
        { task: "forge.quiz", role: "out-of-scope", test: 3, pretrain: 2 },
        { task: "atlas.capital", role: "pretrain", pretrain: 5 },
        { task: "forge.maker", role: "server", pretrain: 4 }
    ];
    benchmarkPath = path.join(dir, "tiny-score.json");
    writeFileSync(benchmarkPath, JSON.stringify(world));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function score(items: string): Promise<TaskAccuracy[]> {
    const run = await runCrayon(["score", "--model", modelPath, "--benchmark", benchmarkPath, "--items", items, "--threads", "1", "--json"]);
    expect(run.stderr).toBe("");
    return JSON.parse(run.stdout) as TaskAccuracy[];
}

const counts = (rows: TaskAccuracy[]) => rows.map((row) => [row.task, row.items]);

describe("crayon score --items", () => {
    it("test: the user tasks' test items, their mean, then the out-of-scope queries per task and pooled", async () => {
        const rows = await score("test");
        expect(counts(rows)).toEqual([["rank.min", 6], ["user tasks (mean)", 6], ["out-of-scope: spell.first", 4], ["out-of-scope: forge.quiz", 3], ["out-of-scope", 7]]);
        const [series, forge, pooled] = rows.slice(-3) as [TaskAccuracy, TaskAccuracy, TaskAccuracy];
        // the pooled row is over items, so it is the item-weighted mean of the per-task rows
        expect(pooled.accuracy).toBeCloseTo((4 * series.accuracy + 3 * forge.accuracy) / 7, 12);
        for (const row of rows) {
            expect(row.accuracy).toBeGreaterThanOrEqual(0);
            expect(row.accuracy).toBeLessThanOrEqual(1);
        }
    });

    it("pool: the pool's items by task", async () => {
        expect(counts(await score("pool"))).toEqual([["rank.max2", 8], ["pool tasks (mean)", 8]]);
    });

    it("corpus: the pre-training items outside the pool, by task, with the mean of the task rows", async () => {
        const rows = await score("corpus");
        // the device's corpus: a pool task's pre-training part, a user task's (not its shots), pre-training tasks;
        // never a test item, and not the server's own items (server and out-of-scope tasks)
        expect(counts(rows)).toEqual([["rank.max2", 12], ["rank.min", 5], ["atlas.capital", 5], ["corpus tasks (mean)", 22]]);
        const tasks = rows.slice(0, -1);
        expect(rows.at(-1)!.accuracy).toBeCloseTo(tasks.reduce((sum, row) => sum + row.accuracy, 0) / tasks.length, 12);
    });

    it("refuses an unknown item set with one line", async () => {
        expectOneLineError(await runCrayon(["score", "--model", modelPath, "--benchmark", benchmarkPath, "--items", "train"]), /--items must be one of test, pool, corpus, found "train"/);
    });
});
