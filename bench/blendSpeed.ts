/**
 * How fast `crayon blend` is against the bandwidth floor: the time to read the pool's adapter files once,
 * and — since a concat blend writes a file as large as the adapters it blends — the time to write that
 * many bytes once (atomically and without fsync, as the blend does). A synthetic pool of K adapters shaped
 * like the shipped pool's (rank 8 on every projection) of a device-shaped model (d = 128, 4 layers, 4 heads
 * / 2 KV, ffn 352) is written to a temporary folder; embedding is excluded (the examples' embedding is given).
 * Run alone: `node dist/bench/blendSpeed.js [K …]`; from a runner: `runBlendBench()` prints the table,
 * `runBlendSpeed()` returns the rows.
 */
import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { blendAdapters } from "../src/blend/blendAdapters.js";
import type { BlendTimings } from "../src/blend/types.js";
import type { QaItem } from "../src/data/item.js";
import { writeFileAtomic } from "../src/fs/atomicWrite.js";
import { LORA_TARGETS } from "../src/gguf/constants.js";
import { readGguf } from "../src/gguf/reader.js";
import { writeRandomLlamaModel } from "../src/model/randomModel.js";
import { writeSyntheticPool } from "./syntheticPool.js";

export interface BlendSpeedOptions {
    /** pool sizes K; default 8, 32, 128 */
    adapterCounts?: number[];
    /** timed runs per K (after one warm-up); the median is reported; default 5 */
    repeats?: number;
}

export interface BlendSpeedRow {
    adapters: number;
    /** bytes of all adapter files */
    poolBytes: number;
    /** reading every adapter file once into memory (the bandwidth floor), ms */
    floorMs: number;
    /** writing the concat blend's bytes once, atomically (temporary file, rename; no fsync, as the blend), ms */
    writeFloorMs: number;
    /** concat blend: read + combine + write, ms, and its parts (median run) */
    concat: BlendTimings;
    /** concat blend (read + combine + write) / read floor */
    ratio: number;
    /** concat blend / (read floor + write floor): what parsing, combining and hashing add to the I/O */
    ioRatio: number;
    /** svd blend to rank 8: read + combine + write, ms */
    svdMs: number;
}

const DEVICE_SHAPE = { embeddingLength: 128, blockCount: 4, headCount: 4, headCountKv: 2, feedForwardLength: 352, seed: 1 };
const ADAPTER = { rank: 8, alpha: 16, targets: [...LORA_TARGETS] };
const EXAMPLE: QaItem = { id: "bench/0", source: "bench", task: "bench", question: "?", choices: ["a", "b"], answer: 0 };

export async function runBlendSpeed(options: BlendSpeedOptions = {}): Promise<BlendSpeedRow[]> {
    const { adapterCounts = [8, 32, 128], repeats = 5 } = options;
    await tf.setBackend("cpu"); // only to write the random base model
    const dir = await mkdtemp(path.join(os.tmpdir(), "crayon-blend-speed-"));
    try {
        const modelPath = path.join(dir, "device.gguf");
        await writeRandomLlamaModel(modelPath, DEVICE_SHAPE);
        const base = await readGguf(modelPath);
        const rows: BlendSpeedRow[] = [];
        for (const count of adapterCounts) {
            const poolDir = path.join(dir, `pool-${count}`);
            const manifest = await writeSyntheticPool(poolDir, { modelPath, seed: count, dimension: 16, adapters: Array.from({ length: count }, () => ADAPTER) });
            const pool = { dir: poolDir, manifest };
            const files = manifest.adapters.map((a) => path.join(poolDir, a.file));
            const task = manifest.centroids[0]!;
            const embed = async () => [task];
            const blend = (combine: "concat" | "svd") =>
                blendAdapters(pool, [EXAMPLE], { method: "crayon", temperature: 1, combine, embed, base, out: path.join(dir, `out-${count}`) });

            const floors: number[] = [];
            const writeFloors: number[] = [];
            const concats: BlendTimings[] = [];
            const svds: number[] = [];
            let poolBytes = 0;
            for (let run = 0; run <= repeats; run++) {
                let start = performance.now();
                const contents = files.map((file) => readFileSync(file)); // as the blend reads them
                const floor = performance.now() - start;
                poolBytes = contents.reduce((sum, bytes) => sum + bytes.length, 0);
                const result = await blend("concat");
                const outBytes = new Uint8Array(statSync(result.adapterPath).size);
                start = performance.now();
                writeFileAtomic(path.join(dir, "write-floor.bin"), [outBytes], { durable: false });
                const writeFloor = performance.now() - start;
                const svd = (await blend("svd")).timings.blendMs;
                if (run === 0) continue; // warm-up: page cache, JIT
                floors.push(floor);
                writeFloors.push(writeFloor);
                concats.push(result.timings);
                svds.push(svd);
            }
            const concat = concats.sort((a, b) => a.blendMs - b.blendMs)[Math.floor(concats.length / 2)]!;
            const floorMs = median(floors);
            const writeFloorMs = median(writeFloors);
            rows.push({
                adapters: count, poolBytes, floorMs, writeFloorMs, concat, ratio: concat.blendMs / floorMs,
                ioRatio: concat.blendMs / (floorMs + writeFloorMs), svdMs: median(svds)
            });
        }
        return rows;
    } finally {
        await rm(dir, { recursive: true, force: true });
    }
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
}

/** One line per K, for people. */
export function formatBlendSpeed(rows: readonly BlendSpeedRow[]): string {
    const f = (ms: number) => ms.toFixed(1).padStart(7);
    const lines = ["    K   pool MB  read floor ms  write floor ms  blend ms (   read  combine    write)  ×read floor  ×(read + write floor)   svd ms"];
    for (const r of rows) {
        const c = r.concat;
        lines.push(`${String(r.adapters).padStart(5)}  ${(r.poolBytes / 2 ** 20).toFixed(2).padStart(7)}  ${f(r.floorMs).padStart(13)}  ${f(r.writeFloorMs).padStart(14)}   ${f(r.concat.blendMs)} (${f(c.readMs)} ${f(c.combineMs)} ${f(c.writeMs)})  ${r.ratio.toFixed(2).padStart(11)}  ${r.ioRatio.toFixed(2).padStart(21)}  ${f(r.svdMs)}`);
    }
    return `${lines.join("\n")}\n`;
}

/** For `bench/run.ts`: K = 8, 32, 128, printed as a table. */
export async function runBlendBench(): Promise<void> {
    process.stdout.write(formatBlendSpeed(await runBlendSpeed()));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
    const counts = process.argv.slice(2).map(Number);
    const rows = await runBlendSpeed(counts.length > 0 ? { adapterCounts: counts } : {});
    process.stdout.write(formatBlendSpeed(rows));
}
