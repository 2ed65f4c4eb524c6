import type { LlamaModel } from "node-llama-cpp";
import { GgmlType } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { loadLlamaModel } from "../model/modelFile.js";
import { disposeWeights } from "../model/weights.js";
import type { LlamaRuntime } from "../runtime/llama.js";
import { setupEngine } from "../train/engine/backend.js";
import { createEmbedder, type Embedder, type EmbedderOptions } from "./embed.js";
import { sha256File } from "./fingerprint.js";
import { createHiddenStateEmbedder } from "./hiddenStateEmbedder.js";

/** Whether the tfjs forward can hold the model: every tensor stored as F32 or F16 (not quantized). */
function decodesInTfjs(file: GgufFile): boolean {
    return file.tensors.every((tensor) => tensor.type === GgmlType.F32 || tensor.type === GgmlType.F16);
}

/**
 * The base model's embedder, for every command: the batched hidden-state forward (one pass for a batch of
 * texts) where the weights decode in tfjs, llama.cpp's embedder otherwise (a quantized model). Both give
 * the same vectors to ~1e-6 (test/pool/embed.test.ts); the first costs one forward per 16 texts where
 * llama.cpp's mean pooling costs one evaluation per token prefix, seconds for a user's examples.
 */
export async function openBaseEmbedder(runtime: LlamaRuntime, modelPath: string, options: EmbedderOptions = {}): Promise<Embedder> {
    if (!decodesInTfjs(await readGguf(modelPath))) return createEmbedder(runtime, modelPath, options);
    await setupEngine();
    const base = await loadLlamaModel(modelPath);
    const tokenizer: LlamaModel = options.model ?? (await runtime.loadModel(modelPath, { vocabOnly: true }));
    const embedder = createHiddenStateEmbedder(base, tokenizer, { pooling: options.pooling ?? "mean", modelSha256: options.modelSha256 ?? (await sha256File(modelPath)) });
    return {
        ...embedder,
        get evaluations() {
            return embedder.evaluations;
        },
        async dispose() {
            disposeWeights(base.weights);
            if (options.model === undefined) await tokenizer.dispose();
        }
    };
}
