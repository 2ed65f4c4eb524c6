import * as tf from "@tensorflow/tfjs";
import type { LlamaModel, Token } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { promptText } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import { llamaHidden } from "../model/forward.js";
import type { LoadedLlamaModel } from "../model/modelFile.js";
import { tokenizePrompt } from "../runtime/encode.js";
import type { Embedder, Pooling } from "./embed.js";
import type { EmbedderSpec } from "./manifest.js";
import { l2Normalize } from "./vectors.js";

export interface HiddenStateEmbedderOptions {
    pooling?: Pooling;
    /** texts per forward pass; default 16 */
    batchSize?: number;
    modelSha256: string;
}

/**
 * The same embedder as `createEmbedder` — final-normed hidden states of the base model, pooled and
 * normalised — computed by the tfjs forward pass, which matches llama.cpp's to ~1e-6. It exists for
 * bulk work: llama.cpp exposes only the last position's state, so mean pooling there costs one
 * evaluation per prefix, while here one batched pass gives every position. `tokenizer` is a node-llama-cpp
 * model (a vocab-only load is enough) so the tokens are exactly llama.cpp's.
 */
export function createHiddenStateEmbedder(base: LoadedLlamaModel, tokenizer: LlamaModel, { pooling = "mean", batchSize = 16, modelSha256 }: HiddenStateEmbedderOptions): Embedder {
    const spec: EmbedderSpec = { kind: "base-model", pooling, text: "prompt", normalized: true, dimension: base.hp.embeddingLength };
    let evaluations = 0;

    /** One forward pass over texts of similar length, right-padded (causal attention: padding never leaks back). */
    const embedBatch = (sequences: Token[][]): Float32Array[] => {
        evaluations++;
        const seqLen = Math.max(...sequences.map((s) => s.length));
        const ids = new Int32Array(sequences.length * seqLen);
        sequences.forEach((s, row) => ids.set(s, row * seqLen));
        const hidden = tf.tidy(() => llamaHidden(base.hp, base.weights, tf.tensor2d(ids, [sequences.length, seqLen], "int32")));
        const states = hidden.dataSync() as Float32Array; // [B·T, d]
        hidden.dispose();
        const d = spec.dimension;
        return sequences.map((s, row) => {
            const pooled = new Float32Array(d);
            const first = pooling === "mean" ? 0 : s.length - 1;
            for (let t = first; t < s.length; t++) {
                const offset = (row * seqLen + t) * d;
                for (let i = 0; i < d; i++) pooled[i]! += states[offset + i]!;
            }
            return l2Normalize(pooled);
        });
    };

    return {
        spec,
        modelSha256,
        get evaluations() {
            return evaluations;
        },
        async embed(texts) {
            const tokens = texts.map((text) => tokenizePrompt(tokenizer, text));
            const tooLong = tokens.findIndex((t) => t.length > base.hp.contextLength);
            if (tooLong >= 0) throw new CrayonError(`a text of ${tokens[tooLong]!.length} tokens is longer than the model's context (${base.hp.contextLength}); shorten it`);
            // similar lengths together keep the padding small
            const order = tokens.map((_, i) => i).sort((a, b) => tokens[a]!.length - tokens[b]!.length);
            const out = new Array<Float32Array>(texts.length);
            for (let start = 0; start < order.length; start += batchSize) {
                const batch = order.slice(start, start + batchSize);
                embedBatch(batch.map((i) => tokens[i]!)).forEach((vector, j) => (out[batch[j]!] = vector));
            }
            return out;
        },
        itemText: (item: QaItem) => promptText(item),
        async dispose() {}
    };
}
