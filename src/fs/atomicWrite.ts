import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writevSync } from "node:fs";

/** Bytes gathered before one `writev`: few system calls for many small chunks, bounded extra memory. */
const WRITE_BATCH_BYTES = 64 << 20;

/**
 * Writes a file so that readers see either the old contents or the complete new ones, never a part:
 * a temporary file beside it, fsync, then rename. A killed process leaves at most a `.tmp` file.
 * `durable: false` skips the fsync, for files derived in milliseconds from others (a blend): the rename
 * still keeps a killed process from leaving a partial file, and after a power loss the file can be made again.
 * Synchronous: the files are small to medium (adapters, checkpoints, reports), and a thread-pool round
 * trip per system call would cost more than the write itself for a millisecond blend. Chunks are
 * gathered into batches written with one `writev` each: a GGUF adapter is hundreds of small tensors.
 */
export function writeFileAtomic(path: string, chunks: Iterable<Uint8Array | string>, { durable = true }: { durable?: boolean } = {}): void {
    const temporaryPath = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const fd = openSync(temporaryPath, "wx");
    try {
        let batch: Uint8Array[] = [];
        let batchBytes = 0;
        for (const chunk of chunks) {
            const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            batch.push(bytes);
            batchBytes += bytes.length;
            if (batchBytes >= WRITE_BATCH_BYTES) {
                writeAll(fd, batch);
                batch = [];
                batchBytes = 0;
            }
        }
        if (batch.length > 0) writeAll(fd, batch);
        if (durable) fsyncSync(fd);
        closeSync(fd);
        renameSync(temporaryPath, path);
    } catch (error) {
        try {
            closeSync(fd);
        } catch {
            // already closed
        }
        rmSync(temporaryPath, { force: true });
        throw error;
    }
}

/** Writes the batch with `writev`, continuing after a partial write (a signal, IOV_MAX) until all is written. */
function writeAll(fd: number, batch: Uint8Array[]): void {
    let pending = batch;
    while (pending.length > 0) {
        let written = writevSync(fd, pending);
        if (written === 0) throw new Error("write made no progress");
        const rest: Uint8Array[] = [];
        for (const chunk of pending) {
            if (written >= chunk.length) {
                written -= chunk.length;
                continue;
            }
            rest.push(written > 0 ? chunk.subarray(written) : chunk);
            written = 0;
        }
        pending = rest;
    }
}
