import { GgufKey, GgufValueType, TOKENIZER_MODEL_SPM, TokenType } from "../gguf/constants.js";
import { gguf } from "../gguf/metadata.js";
import type { GgufValue } from "../gguf/types.js";

/** SentencePiece marks a space inside a piece with U+2581 LOWER ONE EIGHTH BLOCK. */
export const SPM_SPACE = "\u2581";

/** A SentencePiece-style vocabulary as llama.cpp's `llama` tokenizer reads it. */
export interface SpmVocab {
    tokens: string[];
    scores: number[]; // higher merges first
    tokenTypes: TokenType[];
    unknownId: number;
    bosId: number;
    eosId: number;
}

/**
 * `<unk>`, `<s>`, `</s>`, the 256 byte-fallback tokens, then the pieces in the order given with
 * descending scores. llama.cpp builds a piece only by joining two adjacent pieces that both exist, so
 * every prefix of a multi-character piece must be a piece too — checked here, not discovered later as
 * text that silently tokenizes into bytes.
 */
export function buildSpmVocab(pieces: readonly string[]): SpmVocab {
    const tokens = ["<unk>", "<s>", "</s>"];
    const tokenTypes = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL];
    for (let byte = 0; byte < 256; byte++) {
        tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
        tokenTypes.push(TokenType.BYTE);
    }
    const scores = tokens.map(() => 0);
    const known = new Set<string>();
    for (const [rank, piece] of pieces.entries()) {
        if (known.has(piece)) throw new Error(`vocabulary piece ${JSON.stringify(piece)} is listed twice`);
        const chars = [...piece];
        for (let length = 1; length < chars.length; length++) {
            const prefix = chars.slice(0, length).join("");
            if (!known.has(prefix)) {
                throw new Error(`vocabulary piece ${JSON.stringify(piece)} comes before its prefix ${JSON.stringify(prefix)}`);
            }
        }
        known.add(piece);
        tokens.push(piece);
        tokenTypes.push(TokenType.NORMAL);
        scores.push(-rank);
    }
    return { tokens, scores, tokenTypes, unknownId: 0, bosId: 1, eosId: 2 };
}

/** The tokenizer's GGUF metadata entries. */
export function spmVocabMetadata(vocab: SpmVocab): [string, GgufValue][] {
    const key = GgufKey.tokenizer;
    return [
        [key.model, gguf.str(TOKENIZER_MODEL_SPM)],
        [key.tokens, gguf.arr(GgufValueType.STRING, vocab.tokens)],
        [key.scores, gguf.arr(GgufValueType.FLOAT32, vocab.scores)],
        [key.tokenType, gguf.arr(GgufValueType.INT32, vocab.tokenTypes)],
        [key.unknownTokenId, gguf.u32(vocab.unknownId)],
        [key.bosTokenId, gguf.u32(vocab.bosId)],
        [key.eosTokenId, gguf.u32(vocab.eosId)],
        [key.addBosToken, gguf.bool(true)],
        [key.addEosToken, gguf.bool(false)]
    ];
}
