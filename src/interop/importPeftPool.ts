import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { importAdapters, type ImportAdaptersOptions } from "../pool/importAdapters.js";
import type { PoolManifest } from "../pool/manifest.js";
import { importPeftAdapter } from "./importPeft.js";

export interface ImportPeftPoolOptions extends Omit<ImportAdaptersOptions, "adapterPaths"> {
    /** PEFT LoRA folders trained for the Hugging Face model that `modelPath` was converted from, one pool adapter each */
    peftDirs: readonly string[];
}

/**
 * `crayon build-pool --from-peft`: every PEFT folder is converted to a GGUF adapter of the base (all of them
 * before anything else, so one refused adapter stops the import), then the pool is assembled exactly as from
 * GGUF adapters. The converted files are named after their folders, which the manifest records as the source.
 */
export async function importPeftPool(options: ImportPeftPoolOptions): Promise<PoolManifest> {
    const { peftDirs, dataPaths } = options;
    if (peftDirs.length === 0) throw new CrayonError("--from-peft: no adapter folders given");
    if (dataPaths.length !== peftDirs.length) {
        const counts = `${peftDirs.length} --from-peft, ${dataPaths.length} --adapter-data`;
        const subject = dataPaths.length < peftDirs.length ? `${peftDirs[dataPaths.length]}: no examples file to compute its centroid from` : `${dataPaths[peftDirs.length]}: an examples file without an adapter`;
        throw new CrayonError(`${subject} (${counts}); give one --adapter-data file (.jsonl or .csv) per --from-peft folder, in the same order`);
    }
    const base = await readGguf(options.modelPath);
    const converted = await mkdtemp(path.join(os.tmpdir(), "crayon-peft-"));
    try {
        const adapterPaths = peftDirs.map((dir, i) => {
            const folder = path.join(converted, String(i)); // folders may share a name
            mkdirSync(folder);
            return importPeftAdapter(dir, base, path.join(folder, path.basename(path.resolve(dir)))).path;
        });
        return await importAdapters({ ...options, adapterPaths });
    } finally {
        await rm(converted, { recursive: true, force: true });
    }
}
