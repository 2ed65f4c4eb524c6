import { readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { POOL_FORMAT_VERSION, type PoolManifest } from "./manifest.js";

/** Layout of a pool folder: `manifest.json`, `adapters/<id>.gguf`, and while building `checkpoints/` and `cache/`. */
export const MANIFEST_FILE = "manifest.json";
export const adapterFile = (id: string): string => `adapters/${id}.gguf`;
export const checkpointDir = (poolDir: string, id: string): string => path.join(poolDir, "checkpoints", id);
export const cacheDir = (poolDir: string): string => path.join(poolDir, "cache");
/** adapter ids in cluster order: c00, c01, … */
export const adapterId = (cluster: number): string => `c${String(cluster).padStart(2, "0")}`;

/** Replaces the manifest in one step: a reader sees the old one or the new one, never a mix. */
export async function writeManifest(poolDir: string, manifest: PoolManifest): Promise<void> {
    writeFileAtomic(path.join(poolDir, MANIFEST_FILE), [`${JSON.stringify(manifest, null, 2)}\n`]);
}

/** The pool's manifest, or null when the folder has none; a manifest of another format is an error. */
export async function readManifest(poolDir: string): Promise<PoolManifest | null> {
    const file = path.join(poolDir, MANIFEST_FILE);
    let text: string;
    try {
        text = await readFile(file, "utf8");
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw new CrayonError(`${file}: cannot read it (${(error as Error).message})`);
    }
    let manifest: PoolManifest;
    try {
        manifest = JSON.parse(text) as PoolManifest;
    } catch (error) {
        throw new CrayonError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    if (manifest.format !== "crayon-pool") throw new CrayonError(`${file}: not a Crayon pool manifest (format "${String(manifest.format)}")`);
    if (manifest.formatVersion !== POOL_FORMAT_VERSION) {
        throw new CrayonError(`${file}: pool format version ${String(manifest.formatVersion)}, but this Crayon reads version ${POOL_FORMAT_VERSION}; rebuild the pool`);
    }
    return manifest;
}

/** Deletes the `.tmp` files a killed run left beside the manifest and the adapters (nothing refers to them). */
export async function removeStaleTemporaries(poolDir: string): Promise<void> {
    for (const dir of [poolDir, path.join(poolDir, "adapters")]) {
        for (const name of await readdir(dir)) if (name.endsWith(".tmp")) await rm(path.join(dir, name), { force: true });
    }
}
