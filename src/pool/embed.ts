import type { LlamaEmbeddingContext, LlamaModel, Token } from "node-llama-cpp";
import { CrayonError } from "../errors.js";
import type { QaItem } from "../data/item.js";
import { promptText } from "../data/prompt.js";
import { GgufKey } from "../gguf/constants.js";
import { metadataNumber, metadataString, readGguf } from "../gguf/reader.js";
import { tokenizePrompt } from "../runtime/encode.js";
import type { LlamaRuntime } from "../runtime/llama.js";
import { sha256File } from "./fingerprint.js";
import type { EmbedderSpec } from "./manifest.js";
import { l2Normalize } from "./vectors.js";

/** `llama.pooling_type` values (llama.cpp's enum llama_pooling_type); absent means none. */
const POOLING_NAMES: Record<number, string> = { 0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank" };

export type Pooling = EmbedderSpec["pooling"];

/** Embeds texts and items with a base model, exactly as a pool's manifest says its centroids were made. */
export interface Embedder {
    readonly spec: EmbedderSpec;
    /** sha256 of the model file the vectors come from (the embedding cache's key) */
    readonly modelSha256: string;
    /** unit-length vectors, one per text: [n][dimension] */
    embed(texts: readonly string[]): Promise<Float32Array[]>;
    /** the text of an item that is embedded (`spec.text`): its prompt without the answer */
    itemText(item: QaItem): string;
    /** model evaluations so far (one per llama.cpp call), so callers and tests can see cache hits */
    readonly evaluations: number;
    dispose(): Promise<void>;
}

export interface EmbedderOptions {
    /** default "mean" */
    pooling?: Pooling;
    /** a model already loaded from `modelPath`, to share it; otherwise the embedder loads its own */
    model?: LlamaModel;
    /** the model file's sha256 when the caller has it already */
    modelSha256?: string;
}

/**
 * The base model as its own embedder (a device needs no second model). llama.cpp pools the final-normed
 * hidden states as the GGUF's `pooling_type` says; models without one (none) or with `last` give the last
 * token's state. Mean pooling over such a model is computed here: the state at position t is the last-token
 * state of the prefix ending at t (attention is causal), so the mean over positions is the mean of the
 * prefixes' embeddings — exact, at the price of n evaluations of up to n tokens per text. Mean pooling is
 * the default because every prompt ends in the same "Answer:" tokens, whose last state says more about
 * the format than about the task. Vectors are L2-normalised, so cosine similarity is a dot product.
 */
export async function createEmbedder(runtime: LlamaRuntime, modelPath: string, options: EmbedderOptions = {}): Promise<Embedder> {
    const pooling = options.pooling ?? "mean";
    const file = await readGguf(modelPath);
    const poolingKey = GgufKey.llm(metadataString(file, GgufKey.general.architecture)).poolingType;
    const modelPooling = POOLING_NAMES[file.metadata.has(poolingKey) ? metadataNumber(file, poolingKey) : 0] ?? "unknown";
    const givesLastToken = modelPooling === "none" || modelPooling === "last";
    if (!(givesLastToken || (modelPooling === "mean" && pooling === "mean"))) {
        throw new CrayonError(`${modelPath}: its pooling_type is ${modelPooling}; Crayon embeds with ${pooling} pooling and can derive it only from a model pooling none, last${pooling === "mean" ? " or mean" : ""}`);
    }
    const prefixMean = pooling === "mean" && givesLastToken;
    const model = options.model ?? (await runtime.loadModel(modelPath));
    const ownsModel = options.model === undefined;
    if (prefixMean && model.tokens.shouldAppendEosToken) {
        throw new CrayonError(`${modelPath}: the model appends an end token to every input, so mean pooling cannot be derived from prefixes; use last-token pooling`);
    }
    const contextSize = Math.min(model.trainContextSize, 2048);
    const context: LlamaEmbeddingContext = await model.createEmbeddingContext({ contextSize, threads: runtime.llama.maxThreads });
    const modelSha256 = options.modelSha256 ?? (await sha256File(modelPath));
    let evaluations = 0;

    const evaluate = async (tokens: Token[]): Promise<Float32Array> => {
        evaluations++;
        return Float32Array.from((await context.getEmbeddingFor(tokens)).vector);
    };
    const embedOne = async (text: string): Promise<Float32Array> => {
        const tokens = tokenizePrompt(model, text);
        if (tokens.length === 0) throw new CrayonError(`cannot embed an empty text with ${modelPath}`);
        if (tokens.length >= contextSize) {
            throw new CrayonError(`a text of ${tokens.length} tokens does not fit the ${contextSize}-token context of ${modelPath}; shorten it`);
        }
        if (!prefixMean) return l2Normalize(await evaluate(tokens));
        let sum: Float32Array | undefined;
        for (let end = 1; end <= tokens.length; end++) {
            const state = await evaluate(tokens.slice(0, end));
            if (sum === undefined) sum = state;
            else for (let i = 0; i < sum.length; i++) sum[i]! += state[i]!;
        }
        return l2Normalize(sum!);
    };

    const spec: EmbedderSpec = { kind: "base-model", pooling, text: "prompt", normalized: true, dimension: model.embeddingVectorSize };
    return {
        spec,
        modelSha256,
        get evaluations() {
            return evaluations;
        },
        async embed(texts) {
            const out: Float32Array[] = [];
            for (const text of texts) out.push(await embedOne(text));
            return out;
        },
        itemText: (item) => promptText(item),
        async dispose() {
            await context.dispose();
            if (ownsModel) await model.dispose();
        }
    };
}
