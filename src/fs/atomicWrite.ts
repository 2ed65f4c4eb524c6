import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";

/**
 * Writes a file so that readers see either the old contents or the complete new ones, never a part:
 * a temporary file beside it, fsync, then rename. A killed process leaves at most a `.tmp` file.
 */
export async function writeFileAtomic(path: string, chunks: Iterable<Uint8Array | string>): Promise<void> {
    const temporaryPath = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const handle = await open(temporaryPath, "wx");
    try {
        for (const chunk of chunks) await (typeof chunk === "string" ? handle.write(chunk) : handle.write(chunk));
        await handle.sync();
        await handle.close();
        await rename(temporaryPath, path);
    } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(temporaryPath, { force: true });
        throw error;
    }
}
