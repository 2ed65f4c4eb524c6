import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { QaItem } from "../data/item.js";
import { blendAdapters } from "../blend/blendAdapters.js";
import type { BlendOptions, BlendPool, BlendResult } from "../blend/types.js";
import { CrayonError } from "../errors.js";
import { exportPeftAdapter } from "./exportPeft.js";

/** Where `crayon blend` can write its adapter. */
export const BLEND_FORMATS = ["gguf", "peft"] as const;
export type BlendFormat = (typeof BLEND_FORMATS)[number];

/**
 * `crayon blend --format peft`: the blend as usual, written as a GGUF adapter to a temporary folder and
 * checked there, then exported as the PEFT folder `options.out`. The timings' write stage includes the export.
 */
export async function blendAsPeft(pool: BlendPool, examples: readonly QaItem[], options: BlendOptions): Promise<BlendResult> {
    const { out, base } = options;
    if (path.extname(out).toLowerCase() === ".gguf") throw new CrayonError(`--out: ${out} is a .gguf name, but --format peft writes a folder (adapter_config.json + adapter_model.safetensors); give a folder`);
    if (base === undefined) throw new CrayonError("--format peft needs the base model, to lay the adapter out for its Hugging Face form");
    const staging = await mkdtemp(path.join(os.tmpdir(), "crayon-blend-"));
    try {
        const result = await blendAdapters(pool, examples, { ...options, out: staging });
        const started = performance.now();
        await exportPeftAdapter({ adapterPath: result.adapterPath, base, outDir: out });
        const exportMs = performance.now() - started;
        const timings = { ...result.timings, writeMs: result.timings.writeMs + exportMs, blendMs: result.timings.blendMs + exportMs };
        return { ...result, adapterPath: out, timings };
    } finally {
        await rm(staging, { recursive: true, force: true });
    }
}
