import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { createEmbedder } from "../pool/embed.js";
import { ItemEncoder } from "../runtime/encode.js";
import type { LlamaRuntime } from "../runtime/llama.js";
import type { BlendMethod, BlendOptions, BlendPool } from "./types.js";
import { usesSimilarities } from "./weights/blendWeights.js";
import { llamaFewShotLoss } from "./weights/fewShotLoss.js";
import type { LorahubOptions } from "./weights/lorahubWeights.js";

/** The blend options that need the base model, and how to release what they hold. */
export interface BaseModelHooks {
    options: Pick<BlendOptions, "embed" | "lorahub">;
    dispose(): Promise<void>;
}

/**
 * What a method needs from the base model (already loaded from `modelPath`, which the pool was built
 * for): the similarity methods an embedder made as the pool's manifest says, lorahub llama.cpp's few-shot
 * loss over the pool's adapter files. uniform needs nothing.
 */
export async function baseModelHooks(
    runtime: LlamaRuntime, model: LlamaModel, modelPath: string, pool: BlendPool, examples: readonly QaItem[], method: BlendMethod, lorahub: LorahubOptions = {}
): Promise<BaseModelHooks> {
    if (method === "lorahub") {
        const encoder = new ItemEncoder(model, modelPath);
        const adapterPaths = pool.manifest.adapters.map((adapter) => path.join(pool.dir, adapter.file));
        const fewShotLoss = llamaFewShotLoss(runtime, model, adapterPaths, encoder, examples);
        return { options: { lorahub: { ...lorahub, fewShotLoss } }, dispose: async () => undefined };
    }
    if (!usesSimilarities(method)) return { options: {}, dispose: async () => undefined };
    const { manifest } = pool;
    const embedder = await createEmbedder(runtime, modelPath, { pooling: manifest.embedder.pooling, model, modelSha256: manifest.baseModel.sha256 });
    return {
        options: { embed: (items) => embedder.embed(items.map((item) => embedder.itemText(item))) },
        dispose: () => embedder.dispose()
    };
}
