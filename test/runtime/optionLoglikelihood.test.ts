import { describe, expect, it } from "vitest";
import { continuationStart, sumContinuationLogprobs } from "../../src/runtime/optionLoglikelihood.js";

describe("sumContinuationLogprobs", () => {
    it("sums the tokens after the context's tokens", () => {
        // BOS, "the", "question" | "is", "long"
        const result = sumContinuationLogprobs([1, 10, 11], [1, 10, 11, 12, 13], [null, -1, -2, -0.5, -0.25]);
        expect(result).toEqual({ logprob: -0.75, tokenCount: 2 });
    });

    it("gives a token merged across the boundary to the continuation", () => {
        // "the ans" → [the, ans]; "the ans" + "wer" → [the, answer]: the continuation is the one token "answer"
        const result = sumContinuationLogprobs([1, 10, 20], [1, 10, 21], [null, -1, -3]);
        expect(result).toEqual({ logprob: -3, tokenCount: 1 });
        expect(continuationStart([1, 10, 20], [1, 10, 21])).toBe(2);
        expect(continuationStart([1, 10, 20], [1, 10, 20, 30])).toBe(3);
    });

    it("compares tokens with the given equality", () => {
        const context = [{ text: "", offset: 0 }, { text: "the", offset: 0 }];
        const full = [{ text: "", offset: 0 }, { text: "the", offset: 0 }, { text: " cat", offset: 3 }];
        const same = (a: { text: string; offset: number }, b: { text: string; offset: number }) => a.text === b.text && a.offset === b.offset;
        expect(sumContinuationLogprobs(context, full, [null, -1, -2], same)).toEqual({ logprob: -2, tokenCount: 1 });
        // by identity the objects differ, so every token would be the continuation's, the first with no log-probability
        expect(() => sumContinuationLogprobs(context, full, [null, -1, -2])).toThrow(/token 0 .* no log-probability/);
    });

    it("refuses an empty continuation and mismatched lengths", () => {
        expect(() => sumContinuationLogprobs([1, 10], [1, 10], [null, -1])).toThrow(/adds no token/);
        expect(() => sumContinuationLogprobs([1], [1, 10], [null])).toThrow(/1 log-probabilities for 2 tokens/);
    });
});
