import type { ClozeEncodedItem, EncodedItem } from "../runtime/encode.js";

/** One training example as tokens; the loss covers predicting tokens[lossStart..]. */
export interface TrainingSequence {
    tokens: number[];
    /** index of the first token whose prediction is scored with weight 1 (≥ 1) */
    lossStart: number;
    /** weight of the predictions of tokens[1..lossStart) (the prompt, when only the answer has weight 1); default 0 */
    promptWeight?: number;
}

/** Which tokens of a QA item are scored. */
export type LossOn = "all" | "answer";

/**
 * Prompt + gold letter (+ EOS when given). `answer` scores the letter with weight 1 — what a LoRA adapter
 * must learn — and the prompt's tokens with `promptWeight` (default 0). `all` scores every token alike: a
 * model trained from scratch must also learn the language of the prompts, and facts that one task states
 * in its questions are what another task asks about.
 */
export function itemSequence(encoded: EncodedItem, lossOn: LossOn, eos?: number, promptWeight = 0): TrainingSequence {
    const tokens = [...encoded.prompt, encoded.optionTokens[encoded.answer]!, ...(eos === undefined ? [] : [eos])];
    if (lossOn === "all") return { tokens, lossStart: 1 };
    return { tokens, lossStart: encoded.prompt.length, ...(promptWeight > 0 ? { promptWeight } : {}) };
}

/**
 * Context + gold option's text + EOS: the answer text (and the EOS that ends it) with weight 1, the
 * context's tokens with `promptWeight`. What a model trained for cloze scoring learns.
 */
export function clozeSequence(encoded: ClozeEncodedItem, eos?: number, promptWeight = 0): TrainingSequence {
    const gold = encoded.options[encoded.answer]!;
    const tokens = [...gold.tokens, ...(eos === undefined ? [] : [eos])];
    return { tokens, lossStart: gold.start, ...(promptWeight > 0 ? { promptWeight } : {}) };
}

/** A batch laid out for the forward pass: B rows of T positions, row-major. */
export interface TokenBatch {
    batchSize: number; // B
    seqLen: number; // T
    inputs: Int32Array; // [B·T] tokens[t]
    targets: Int32Array; // [B·T] tokens[t + 1]
    lossMask: Float32Array; // [B·T] the weight of the prediction of targets[t]; 0 where it is not scored
    /** scored predictions in the batch (weight > 0) */
    scoredTokens: number;
    /** Σ lossMask: the loss is the lossMask-weighted mean of the cross-entropies */
    lossWeight: number;
}

/** Pads (with token 0, masked out) or truncates each sequence to T + 1 tokens. */
export function packBatch(sequences: readonly TrainingSequence[], seqLen: number): TokenBatch {
    const batchSize = sequences.length;
    const inputs = new Int32Array(batchSize * seqLen);
    const targets = new Int32Array(batchSize * seqLen);
    const lossMask = new Float32Array(batchSize * seqLen);
    sequences.forEach(({ tokens, lossStart, promptWeight = 0 }, row) => {
        const length = Math.min(tokens.length, seqLen + 1);
        for (let t = 0; t + 1 < length; t++) {
            inputs[row * seqLen + t] = tokens[t]!;
            targets[row * seqLen + t] = tokens[t + 1]!;
            lossMask[row * seqLen + t] = t + 1 >= lossStart ? 1 : promptWeight;
        }
    });
    return { batchSize, seqLen, inputs, targets, lossMask, ...maskTotals(lossMask) };
}

/** The scored predictions and the total weight of a loss mask. */
export function maskTotals(lossMask: Float32Array): { scoredTokens: number; lossWeight: number } {
    let scoredTokens = 0;
    let lossWeight = 0;
    for (const w of lossMask) {
        if (w > 0) scoredTokens++;
        lossWeight += w;
    }
    return { scoredTokens, lossWeight };
}

/** The shortest T (a multiple of 8, for tidy matmul shapes) that fits every sequence. */
export function fittingSeqLen(sequences: readonly TrainingSequence[], limit: number): number {
    const longest = Math.max(...sequences.map((s) => s.tokens.length - 1));
    return Math.min(limit, Math.ceil(longest / 8) * 8);
}
