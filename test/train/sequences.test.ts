import type { Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import type { EncodedItem } from "../../src/runtime/encode.js";
import { itemSequence, packBatch } from "../../src/train/sequences.js";

const encoded: EncodedItem = { prompt: [1, 10, 11, 12, 13] as Token[], optionTokens: [20, 21, 22] as Token[], answer: 2 };
const EOS = 2;

describe("itemSequence and packBatch", () => {
    it("scores every prediction alike with lossOn all", () => {
        const sequence = itemSequence(encoded, "all", EOS);
        expect(sequence.tokens).toEqual([1, 10, 11, 12, 13, 22, 2]);
        const batch = packBatch([sequence], 8);
        expect([...batch.lossMask]).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
        expect(batch.scoredTokens).toBe(6);
        expect(batch.lossWeight).toBe(6);
    });

    it("scores only the answer letter and the end token with lossOn answer", () => {
        const batch = packBatch([itemSequence(encoded, "answer", EOS)], 8);
        expect([...batch.lossMask]).toEqual([0, 0, 0, 0, 1, 1, 0, 0]);
        expect(batch.targets.slice(4, 6)).toEqual(Int32Array.from([22, 2]));
        expect(batch.scoredTokens).toBe(2);
    });

    it("gives the prompt's predictions the prompt weight, the answer's weight 1", () => {
        const batch = packBatch([itemSequence(encoded, "answer", EOS, 0.25)], 8);
        expect([...batch.lossMask]).toEqual([0.25, 0.25, 0.25, 0.25, 1, 1, 0, 0]);
        expect(batch.scoredTokens).toBe(6);
        expect(batch.lossWeight).toBe(3);
    });
});
