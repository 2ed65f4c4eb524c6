import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";

/** Everything a training run needs to continue bit-for-bit: arrays by name plus JSON-able state. */
export interface Checkpoint<Meta> {
    step: number;
    meta: Meta;
    arrays: Map<string, Float32Array>;
}

interface CheckpointHeader<Meta> {
    step: number;
    meta: Meta;
    arrays: { name: string; length: number }[];
}

const FILE_PATTERN = /^step-(\d{8})\.ckpt$/;
const fileName = (step: number): string => `step-${String(step).padStart(8, "0")}.ckpt`;

/**
 * One file per checkpoint: a u32 header length, the JSON header, then the float32 arrays (little-endian,
 * 4-byte aligned). Written atomically; older checkpoints are removed once the new one is on disk.
 */
export async function saveCheckpoint<Meta>(dir: string, checkpoint: Checkpoint<Meta>): Promise<string> {
    await mkdir(dir, { recursive: true });
    const header: CheckpointHeader<Meta> = {
        step: checkpoint.step,
        meta: checkpoint.meta,
        arrays: [...checkpoint.arrays].map(([name, data]) => ({ name, length: data.length }))
    };
    let json = Buffer.from(JSON.stringify(header), "utf8");
    json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    const file = path.join(dir, fileName(checkpoint.step));
    const arrays = [...checkpoint.arrays.values()].map((data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    writeFileAtomic(file, [length, json, ...arrays]);
    for (const old of await checkpointFiles(dir)) {
        if (old !== path.basename(file)) await rm(path.join(dir, old), { force: true });
    }
    return file;
}

async function checkpointFiles(dir: string): Promise<string[]> {
    const names = await readdir(dir).catch(() => [] as string[]);
    return names.filter((name) => FILE_PATTERN.test(name)).sort();
}

/** The newest checkpoint in `dir`, or null when there is none. */
export async function loadLatestCheckpoint<Meta>(dir: string): Promise<Checkpoint<Meta> | null> {
    const newest = (await checkpointFiles(dir)).at(-1);
    if (newest === undefined) return null;
    const file = path.join(dir, newest);
    const bytes = await readFile(file);
    const fail = (problem: string): never => {
        throw new CrayonError(`${file}: ${problem} — delete it to start the run afresh`);
    };
    if (bytes.length < 4) fail("truncated checkpoint");
    const headerLength = bytes.readUInt32LE(0);
    if (4 + headerLength > bytes.length) fail("truncated checkpoint header");
    let header: CheckpointHeader<Meta>;
    try {
        header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8")) as CheckpointHeader<Meta>;
    } catch {
        return fail("unreadable checkpoint header");
    }
    const arrays = new Map<string, Float32Array>();
    let offset = 4 + headerLength;
    for (const { name, length } of header.arrays) {
        if (offset + length * 4 > bytes.length) fail(`array ${name} runs past the end of the file`);
        // copy out: the file buffer's alignment is not guaranteed for a Float32Array view
        arrays.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + length * 4)));
        offset += length * 4;
    }
    return { step: header.step, meta: header.meta, arrays };
}
