import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { openBaseEmbedder } from "../pool/baseEmbedder.js";
import { ItemEncoder } from "../runtime/encode.js";
import type { LlamaRuntime } from "../runtime/llama.js";
import type { BlendMethod, BlendOptions, BlendPool } from "./types.js";
import { usesSimilarities } from "./weights/blendWeights.js";
import type { BlendStrength } from "./weights/blendStrength.js";
import { llamaFewShotLoss } from "./weights/fewShotLoss.js";
import type { LorahubOptions } from "./weights/lorahubWeights.js";

/** The blend options that need the base model, and how to release what they hold. */
export interface BaseModelHooks {
    options: Pick<BlendOptions, "embed" | "lorahub" | "strengthLoss">;
    dispose(): Promise<void>;
}

/**
 * What a method needs from the base model (already loaded from `modelPath`, which the pool was built
 * for): the similarity methods an embedder made as the pool's manifest says, lorahub and strength "auto"
 * llama.cpp's few-shot loss over the pool's adapter files. uniform at a fixed strength needs nothing.
 */
export async function baseModelHooks(
    runtime: LlamaRuntime, model: LlamaModel, modelPath: string, pool: BlendPool, examples: readonly QaItem[], method: BlendMethod, lorahub: LorahubOptions = {},
    strength: BlendStrength = 1
): Promise<BaseModelHooks> {
    const fewShotLoss = () => {
        const adapterPaths = pool.manifest.adapters.map((adapter) => path.join(pool.dir, adapter.file));
        return llamaFewShotLoss(runtime, model, adapterPaths, new ItemEncoder(model, modelPath), examples);
    };
    if (method === "lorahub") return { options: { lorahub: { ...lorahub, fewShotLoss: fewShotLoss() } }, dispose: async () => undefined };
    const options: BaseModelHooks["options"] = strength === "auto" ? { strengthLoss: fewShotLoss() } : {};
    if (!usesSimilarities(method)) return { options, dispose: async () => undefined };
    const { manifest } = pool;
    const embedder = await openBaseEmbedder(runtime, modelPath, { pooling: manifest.embedder.pooling, model, modelSha256: manifest.baseModel.sha256 });
    return {
        options: { ...options, embed: (items) => embedder.embed(items.map((item) => embedder.itemText(item))) },
        dispose: () => embedder.dispose()
    };
}
