/**
 * Hyper-parameters of a llama-architecture model, read from GGUF metadata the way llama.cpp reads them
 * (same keys, same strict types, same defaults for the optional ones).
 */
import { GgufKey, GgufValueType, TensorName } from "./constants.js";
import { GgufError } from "./errors.js";
import { gguf } from "./metadata.js";
import { metadataNumber, metadataString } from "./reader.js";
import type { GgufFile, GgufMetadata } from "./types.js";

export interface LlamaHparams {
    architecture: string; // general.architecture, "llama"
    vocabSize: number; // tokens
    contextLength: number; // tokens the model was trained on
    embeddingLength: number; // d, the residual width
    blockCount: number; // transformer layers
    feedForwardLength: number; // hidden width of the SwiGLU feed-forward
    headCount: number; // query heads
    headCountKv: number; // key/value heads (< headCount: grouped-query attention)
    headDim: number; // embeddingLength / headCount
    ropeDimensionCount: number; // leading dims of each head rotated by RoPE (≤ headDim)
    ropeFreqBase: number; // RoPE θ base
    rmsEpsilon: number; // ε of RMSNorm
    tiedOutput: boolean; // no output.weight: logits use token_embd
}

const DEFAULT_ROPE_FREQ_BASE = 10000;

export function readLlamaHparams(file: GgufFile): LlamaHparams {
    const architecture = metadataString(file, GgufKey.general.architecture);
    const keys = GgufKey.llm(architecture);
    const u32 = (key: string) => metadataNumber(file, key, GgufValueType.UINT32);
    const f32 = (key: string) => metadataNumber(file, key, GgufValueType.FLOAT32);
    const optional = <T>(key: string, read: (key: string) => T, fallback: T) => (file.metadata.has(key) ? read(key) : fallback);

    const embeddingLength = u32(keys.embeddingLength);
    const headCount = u32(keys.headCount);
    if (headCount === 0) throw new GgufError(file.path, `${keys.headCount} is 0`);
    const headDim = embeddingLength / headCount;
    return {
        architecture,
        vocabSize: readVocabSize(file),
        contextLength: u32(keys.contextLength),
        embeddingLength,
        blockCount: u32(keys.blockCount),
        feedForwardLength: u32(keys.feedForwardLength),
        headCount,
        headCountKv: optional(keys.headCountKv, u32, headCount),
        headDim,
        ropeDimensionCount: optional(keys.ropeDimensionCount, u32, headDim),
        ropeFreqBase: optional(keys.ropeFreqBase, f32, DEFAULT_ROPE_FREQ_BASE),
        rmsEpsilon: f32(keys.rmsEpsilon),
        tiedOutput: !file.tensors.some((tensor) => tensor.name === TensorName.output)
    };
}

/** Tokens in the tokenizer's list, else rows of token_embd (ne [d, vocab]). */
function readVocabSize(file: GgufFile): number {
    const tokens = file.metadata.get(GgufKey.tokenizer.tokens);
    if (tokens?.type === GgufValueType.ARRAY) return tokens.items.length;
    const embedding = file.tensors.find((tensor) => tensor.name === TensorName.tokenEmbd);
    if (embedding?.dims.length === 2) return embedding.dims[1]!;
    throw new GgufError(file.path, `neither ${GgufKey.tokenizer.tokens} nor a 2-D ${TensorName.tokenEmbd} gives the vocabulary size`);
}

/** The hyper-parameter entries of a model's metadata (tokenizer and general.name are the caller's). */
export function hparamsToMetadata(hp: LlamaHparams): GgufMetadata {
    const keys = GgufKey.llm(hp.architecture);
    return new Map([
        [GgufKey.general.architecture, gguf.str(hp.architecture)],
        [keys.contextLength, gguf.u32(hp.contextLength)],
        [keys.embeddingLength, gguf.u32(hp.embeddingLength)],
        [keys.blockCount, gguf.u32(hp.blockCount)],
        [keys.feedForwardLength, gguf.u32(hp.feedForwardLength)],
        [keys.headCount, gguf.u32(hp.headCount)],
        [keys.headCountKv, gguf.u32(hp.headCountKv)],
        [keys.ropeDimensionCount, gguf.u32(hp.ropeDimensionCount)],
        [keys.ropeFreqBase, gguf.f32(hp.ropeFreqBase)],
        [keys.rmsEpsilon, gguf.f32(hp.rmsEpsilon)],
        [keys.vocabSize, gguf.u32(hp.vocabSize)]
    ]);
}
