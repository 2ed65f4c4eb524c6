/** A tiny but complete eval setting: two random models, a synthetic pool and a small world benchmark. */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { BENCHMARKS_DIR } from "../../src/data/benchmark/loadBenchmark.js";
import { writeTestModel } from "../runtime/fixtures.js";

export interface EvalFixture {
    devicePath: string;
    serverPath: string;
    poolDir: string;
    benchmarkPath: string;
}

/** Two user tasks (8 shot candidates, 6 test items each) and one out-of-scope task of 6 queries, on the shipped world. */
export async function writeEvalFixture(dir: string): Promise<EvalFixture> {
    await tf.setBackend("cpu"); // the random test models are made with tfjs
    const devicePath = path.join(dir, "device.gguf");
    const serverPath = path.join(dir, "server.gguf");
    const hp = await writeTestModel(devicePath, 11);
    await writeTestModel(serverPath, 12);
    const poolDir = path.join(dir, "pool");
    await writeSyntheticPool(poolDir, {
        modelPath: devicePath, seed: 5, dimension: hp.embeddingLength,
        adapters: [{ rank: 2, alpha: 4, targets: ["q", "v"] }, { rank: 2, alpha: 4, targets: ["k", "o"] }, { rank: 2, alpha: 4, targets: ["v", "down"] }]
    });
    const world = JSON.parse(await readFile(path.join(BENCHMARKS_DIR, "world.json"), "utf8")) as { name: string; tasks: unknown[] };
    world.name = "tiny-eval";
    world.tasks = [
        { task: "rank.max2", role: "pool", pool: 10 },
        { task: "rank.min", role: "user", shots: 8, test: 6 },
        { task: "zoo.far.quiz", role: "user", shots: 8, test: 6 },
        { task: "forge.quiz", role: "out-of-scope", test: 6 }
    ];
    const benchmarkPath = path.join(dir, "tiny-eval.json");
    await writeFile(benchmarkPath, JSON.stringify(world));
    return { devicePath, serverPath, poolDir, benchmarkPath };
}
