import type { EncodedItem } from "../runtime/encode.js";

/** One training example as tokens; the loss covers predicting tokens[lossStart..]. */
export interface TrainingSequence {
    tokens: number[];
    /** index of the first token whose prediction is scored (≥ 1) */
    lossStart: number;
}

/** Which tokens of a QA item are scored. */
export type LossOn = "all" | "answer";

/**
 * Prompt + gold letter (+ EOS when given). `answer` scores only the letter: what a LoRA adapter must
 * learn. `all` scores every token: a model trained from scratch must also learn the language of the
 * prompts, and facts that one task states in its questions are what another task asks about.
 */
export function itemSequence(encoded: EncodedItem, lossOn: LossOn, eos?: number): TrainingSequence {
    const tokens = [...encoded.prompt, encoded.optionTokens[encoded.answer]!, ...(eos === undefined ? [] : [eos])];
    return { tokens, lossStart: lossOn === "all" ? 1 : encoded.prompt.length };
}

/** A batch laid out for the forward pass: B rows of T positions, row-major. */
export interface TokenBatch {
    batchSize: number; // B
    seqLen: number; // T
    inputs: Int32Array; // [B·T] tokens[t]
    targets: Int32Array; // [B·T] tokens[t + 1]
    lossMask: Float32Array; // [B·T] 1 where the prediction of targets[t] is scored
    /** scored predictions in the batch */
    scoredTokens: number;
}

/** Pads (with token 0, masked out) or truncates each sequence to T + 1 tokens. */
export function packBatch(sequences: readonly TrainingSequence[], seqLen: number): TokenBatch {
    const batchSize = sequences.length;
    const inputs = new Int32Array(batchSize * seqLen);
    const targets = new Int32Array(batchSize * seqLen);
    const lossMask = new Float32Array(batchSize * seqLen);
    let scoredTokens = 0;
    sequences.forEach(({ tokens, lossStart }, row) => {
        const length = Math.min(tokens.length, seqLen + 1);
        for (let t = 0; t + 1 < length; t++) {
            inputs[row * seqLen + t] = tokens[t]!;
            targets[row * seqLen + t] = tokens[t + 1]!;
            if (t + 1 >= lossStart) {
                lossMask[row * seqLen + t] = 1;
                scoredTokens++;
            }
        }
    });
    return { batchSize, seqLen, inputs, targets, lossMask, scoredTokens };
}

/** The shortest T (a multiple of 8, for tidy matmul shapes) that fits every sequence. */
export function fittingSeqLen(sequences: readonly TrainingSequence[], limit: number): number {
    const longest = Math.max(...sequences.map((s) => s.tokens.length - 1));
    return Math.min(limit, Math.ceil(longest / 8) * 8);
}
