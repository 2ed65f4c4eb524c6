/** A tiny world subset and build options shared by the pool-building tests. */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { BENCHMARKS_DIR } from "../../src/data/benchmark/loadBenchmark.js";

/** The tiny benchmark's pool tasks, one per domain, in their order. */
export const TINY_TASKS = ["rank.max2", "spell.first", "zoo.far.diet"];

/** A benchmark definition with the shipped world and three pool tasks of `perTask` items each. */
export async function writeTinyBenchmark(file: string, perTask = 30): Promise<void> {
    const world = JSON.parse(await readFile(path.join(BENCHMARKS_DIR, "world.json"), "utf8")) as { tasks: unknown[]; name: string };
    world.name = "tiny-world";
    world.tasks = TINY_TASKS.map((task) => ({ task, role: "pool", pool: perTask }));
    await writeFile(file, JSON.stringify(world));
}

/** Small enough to train three adapters in seconds; a high rate so a random base learns the answer letters. */
export const tinyBuild = { clusters: 3, rank: 4, alpha: 8, targets: ["q", "v"] as ("q" | "v")[], steps: 30, learningRate: 0.05, batchSize: 8, seqLen: 256, seed: 3, heldOutShare: 0.2, validationShare: 0.2, rotateChoices: true, pooling: "mean" as const };
