import { randomBytes } from "node:crypto";
import { open, rename, rm, type FileHandle } from "node:fs/promises";

/** Bytes gathered before one `writev`: few system calls for many small chunks, bounded extra memory. */
const WRITE_BATCH_BYTES = 64 << 20;

/**
 * Writes a file so that readers see either the old contents or the complete new ones, never a part:
 * a temporary file beside it, fsync, then rename. A killed process leaves at most a `.tmp` file.
 * Chunks are gathered into batches written with one `writev` each: a GGUF adapter is hundreds of small
 * tensors, and one call per chunk would cost a thread-pool round trip per tensor.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array | string>): Promise<void> {
    const temporaryPath = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temporaryPath, "wx");
    try {
        let batch: Uint8Array[] = [];
        let batchBytes = 0;
        for (const chunk of chunks) {
            const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            batch.push(bytes);
            batchBytes += bytes.length;
            if (batchBytes >= WRITE_BATCH_BYTES) {
                await writeAll(handle, batch, batchBytes);
                batch = [];
                batchBytes = 0;
            }
        }
        if (batch.length > 0) await writeAll(handle, batch, batchBytes);
        await handle.sync();
        await handle.close();
        await rename(temporaryPath, path);
    } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(temporaryPath, { force: true });
        throw error;
    }
}

async function writeAll(handle: FileHandle, batch: Uint8Array[], bytes: number): Promise<void> {
    const { bytesWritten } = await handle.writev(batch);
    // libuv already retries short writes, so a shortfall is an error, never a reason to loop
    if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes} bytes`);
}
