import { describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import { TokenType } from "../../src/gguf/constants.js";
import { learnSpmPieces } from "../../src/tokenizer/learnPieces.js";
import { buildSpmVocab, SPM_SPACE } from "../../src/tokenizer/spmVocab.js";
import { vocabularyPieces } from "../../src/train/pretrainer.js";
import { SHIPPED_MODELS } from "../../src/train/shippedModels.js";

/** Every multi-character piece has each of its prefixes earlier in the list (llama.cpp merges only existing pairs). */
function piecesMissingAPrefix(pieces: readonly string[]): string[] {
    const seen = new Set<string>();
    const missing: string[] = [];
    for (const piece of pieces) {
        const chars = [...piece];
        for (let length = 1; length < chars.length; length++) {
            if (!seen.has(chars.slice(0, length).join(""))) missing.push(piece);
        }
        seen.add(piece);
    }
    return missing;
}

describe("learnSpmPieces", () => {
    const texts = ["the cat sat", "the cat ate", "a dog"];

    it("ranks characters, then segment prefixes, by count (shorter first on ties) up to pieceCount", () => {
        const pieces = learnSpmPieces(texts, { pieceCount: 12 });
        expect(pieces).toEqual(["▁", "t", "a", "e", "c", "h", "▁a", "▁c", "▁t", "▁ca", "▁th", "▁cat"]);
        expect(piecesMissingAPrefix(pieces)).toEqual([]);
    });

    it("leaves characters seen fewer than minCharCount times, and every piece holding one, to byte fallback", () => {
        const pieces = learnSpmPieces(texts, { pieceCount: 100 });
        for (const rare of ["s", "d", "o", "g"]) expect(pieces.filter((piece) => piece.includes(rare))).toEqual([]);
        expect(learnSpmPieces(texts, { pieceCount: 100, minCharCount: 1 })).toContain(`${SPM_SPACE}dog`);
    });

    it("is prefix-closed on the world's corpus at the shipped vocabulary size", async () => {
        const world = await loadBenchmark("world");
        const pieces = vocabularyPieces(world.pretrain!, SHIPPED_MODELS.device.vocabPieces, SHIPPED_MODELS.device.scoring);
        expect(piecesMissingAPrefix(pieces)).toEqual([]);
        expect(new Set(pieces).size).toBe(pieces.length);
        expect(() => buildSpmVocab(pieces)).not.toThrow();
    });
});

describe("buildSpmVocab", () => {
    it("lays out <unk>, <s>, </s>, the 256 byte tokens, then the pieces with descending scores", () => {
        const vocab = buildSpmVocab([SPM_SPACE, "a", `${SPM_SPACE}a`]);
        expect(vocab.tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
        expect(vocab.tokens.slice(3, 259)).toEqual(Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`));
        expect(vocab.tokenTypes.slice(3, 259).every((type) => type === TokenType.BYTE)).toBe(true);
        expect(vocab.tokens.slice(259)).toEqual([SPM_SPACE, "a", `${SPM_SPACE}a`]);
        expect(vocab.scores.slice(259)).toEqual([-0, -1, -2]);
        expect([vocab.unknownId, vocab.bosId, vocab.eosId]).toEqual([0, 1, 2]);
    });

    it("refuses a piece before its prefix and a piece listed twice", () => {
        expect(() => buildSpmVocab(["ab", "a", "b"])).toThrow('vocabulary piece "ab" comes before its prefix "a"');
        expect(() => buildSpmVocab(["a", "b", "c", "abc"])).toThrow('vocabulary piece "abc" comes before its prefix "ab"');
        expect(() => buildSpmVocab(["a", "a"])).toThrow(/listed twice/);
    });
});
