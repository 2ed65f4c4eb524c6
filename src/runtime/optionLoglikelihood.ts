/**
 * Which tokens of a tokenised (context + continuation) belong to the continuation, and their summed
 * log-probability: the figure cloze scoring compares across options, whether the per-token
 * log-probabilities come from a local model or from a server's echoed prompt.
 *
 * The continuation's tokens are those after the longest common prefix of tokenize(context) and
 * tokenize(context + continuation). When the tokenizer merges across the boundary ("the ans" + "wer" →
 * "▁the ▁answer"), the merged token counts as the continuation's, so every option is scored on the
 * tokens the model actually reads, and the context part all options share is never scored.
 */

/** A continuation's log-likelihood under a model. */
export interface ContinuationLoglikelihood {
    /** Σ log p(token | all tokens before it) over the continuation's tokens; natural log */
    logprob: number;
    /** how many tokens the sum runs over */
    tokenCount: number;
    /** UTF-8 bytes of the continuation text: acc_norm's denominator */
    byteLength: number;
    /** log p(end-of-sequence | context + continuation), when it was asked for */
    endOfSequenceLogprob?: number;
}

/**
 * Where the continuation's tokens start in `fullTokens`: the length of its longest common prefix with
 * `contextTokens`. A local scorer that keeps the context in its KV cache erases from here (less one, to
 * read the logits that predict the first continuation token) when a merge made it shorter than the context.
 */
export function continuationStart<T>(contextTokens: readonly T[], fullTokens: readonly T[], same: (a: T, b: T) => boolean = (a, b) => a === b): number {
    let start = 0;
    while (start < contextTokens.length && start < fullTokens.length && same(contextTokens[start]!, fullTokens[start]!)) start++;
    if (start === fullTokens.length) throw new RangeError("the continuation adds no token to the context");
    return start;
}

/**
 * Sums the continuation's log-probabilities. `tokenLogprobs[i]` is log p(fullTokens[i] | fullTokens[<i]);
 * null where nothing precedes the token (the first one). `same` says when two tokens are the same — ids
 * locally, (text, text_offset) pairs for a server's echo.
 */
export function sumContinuationLogprobs<T>(
    contextTokens: readonly T[],
    fullTokens: readonly T[],
    tokenLogprobs: readonly (number | null)[],
    same: (a: T, b: T) => boolean = (a, b) => a === b
): { logprob: number; tokenCount: number } {
    if (tokenLogprobs.length !== fullTokens.length) {
        throw new RangeError(`${tokenLogprobs.length} log-probabilities for ${fullTokens.length} tokens`);
    }
    const start = continuationStart(contextTokens, fullTokens, same);
    let logprob = 0;
    for (let i = start; i < fullTokens.length; i++) {
        const value = tokenLogprobs[i];
        if (value === null || value === undefined) throw new RangeError(`token ${i} of the continuation has no log-probability: nothing precedes it`);
        logprob += value;
    }
    return { logprob, tokenCount: fullTokens.length - start };
}
