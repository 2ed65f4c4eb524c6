import path from "node:path";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { validateLoraAdapter } from "../gguf/validate.js";
import { fingerprintBaseModel, sha256File } from "./fingerprint.js";
import type { BaseModelFingerprint, PoolManifest } from "./manifest.js";
import { MANIFEST_FILE, readManifest } from "./poolFiles.js";

export interface LoadedPool {
    dir: string;
    manifest: PoolManifest;
    /** absolute path of each adapter file, in manifest order */
    adapterPaths: string[];
}

/** The one-line refusal when a pool meets another base model: names both files and both fingerprints. */
export function fingerprintMismatch(poolDir: string, expected: BaseModelFingerprint, basePath: string, found: BaseModelFingerprint): CrayonError {
    return new CrayonError(
        `pool ${poolDir} was built for base model ${expected.fileName} (sha256 ${expected.sha256.slice(0, 12)}…), but ${basePath} has sha256 ${found.sha256.slice(0, 12)}… (fingerprint mismatch); use the pool's base model or build a pool for this one`
    );
}

/** The one-line refusal of a folder without a pool manifest. */
export function notAPool(dir: string): CrayonError {
    return new CrayonError(`${dir}: no ${MANIFEST_FILE}; is this a pool folder (built by crayon build-pool)?`);
}

/**
 * Opens a pool and checks everything a blend relies on: the format version, that `baseModelPath` is the
 * model the pool was built for, and that every adapter file is the one recorded (sha256) and a valid LoRA
 * for that base.
 */
export async function loadPool(dir: string, { baseModelPath }: { baseModelPath?: string } = {}): Promise<LoadedPool> {
    const manifest = await readManifest(dir);
    if (manifest === null) throw notAPool(dir);
    const base = baseModelPath === undefined ? undefined : await readGguf(baseModelPath);
    if (baseModelPath !== undefined) {
        const found = await fingerprintBaseModel(baseModelPath);
        if (found.sha256 !== manifest.baseModel.sha256) throw fingerprintMismatch(dir, manifest.baseModel, baseModelPath, found);
    }
    const adapterPaths: string[] = [];
    for (const adapter of manifest.adapters) {
        const file = path.join(dir, adapter.file);
        const sha256 = await sha256File(file).catch((error: NodeJS.ErrnoException) => {
            throw new CrayonError(`${file}: adapter ${adapter.id} of pool ${dir} cannot be read (${error.code ?? error.message}); rebuild the pool`);
        });
        if (sha256 !== adapter.sha256) throw new CrayonError(`${file}: sha256 ${sha256.slice(0, 12)}… differs from the manifest's ${adapter.sha256.slice(0, 12)}…; the file was changed or damaged — rebuild the pool`);
        const info = validateLoraAdapter(await readGguf(file), base);
        if (!info.ranks.includes(adapter.rank)) throw new CrayonError(`${file}: rank ${info.ranks.join(",")}, but the manifest says ${adapter.rank}`);
        adapterPaths.push(file);
    }
    return { dir, manifest, adapterPaths };
}
