import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel } from "../gguf/validate.js";
import type { BaseModelFingerprint } from "./manifest.js";

/** Files at least this large have their digest kept on disk between runs: a model, never an adapter or a manifest. */
const PERSISTED_BYTES = 16 * 2 ** 20;

/** Digests computed (not found in a cache) by this process: what a test counts. */
let computations = 0;
const inProcess = new Map<string, Promise<string>>();

export function sha256Computations(): number {
    return computations;
}

/** Where digests of large files are kept: `CRAYON_CACHE_DIR`, else `$XDG_CACHE_HOME/crayon`, else `~/.cache/crayon`. */
function digestCacheFile(): string {
    const dir = process.env.CRAYON_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "crayon");
    return path.join(dir, "sha256.json");
}

async function readDigestCache(): Promise<Record<string, string>> {
    try {
        return JSON.parse(await readFile(digestCacheFile(), "utf8")) as Record<string, string>;
    } catch {
        return {}; // absent or unreadable: the cache only saves time
    }
}

async function computeSha256(file: string): Promise<string> {
    computations++;
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

/**
 * sha256 of a whole file, hex, streamed (models can be large). A large file's digest is kept, in the process
 * and on disk, by path, size and modification and change times, so a multi-GB model is hashed once, not
 * by every command: a rewritten file has new times and is hashed again.
 */
export async function sha256File(file: string): Promise<string> {
    const info = await stat(file);
    // small files are hashed every time: file times are only as fine as the kernel's clock tick, and a small
    // file rewritten within one tick (a test damaging an adapter) must not keep its old digest
    if (info.size < PERSISTED_BYTES) return computeSha256(file);
    const key = `${path.resolve(file)}|${info.size}|${info.mtimeMs}|${info.ctimeMs}`;
    let digest = inProcess.get(key);
    if (digest === undefined) {
        digest = persistedSha256(file, key);
        inProcess.set(key, digest);
    }
    return digest;
}

async function persistedSha256(file: string, key: string): Promise<string> {
    const cached = (await readDigestCache())[key];
    if (cached !== undefined) return cached;
    const digest = await computeSha256(file);
    try {
        const cacheFile = digestCacheFile();
        await mkdir(path.dirname(cacheFile), { recursive: true });
        writeFileAtomic(cacheFile, [JSON.stringify({ ...(await readDigestCache()), [key]: digest })], { durable: false });
    } catch {
        // a read-only home: the digest is still right, only not remembered
    }
    return digest;
}

/** Identifies a base model by content and shape; a validated llama GGUF is required. */
export async function fingerprintBaseModel(modelPath: string): Promise<BaseModelFingerprint> {
    const hp = validateLlamaModel(await readGguf(modelPath));
    return {
        sha256: await sha256File(modelPath),
        architecture: hp.architecture,
        embeddingLength: hp.embeddingLength,
        blockCount: hp.blockCount,
        vocabSize: hp.vocabSize,
        fileName: path.basename(modelPath)
    };
}
