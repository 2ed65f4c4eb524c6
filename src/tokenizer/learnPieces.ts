import { SPM_SPACE } from "./spmVocab.js";

export interface LearnPiecesOptions {
    /** pieces to return, characters included (the vocabulary adds 3 control and 256 byte tokens) */
    pieceCount: number;
    /** characters seen fewer times are left to byte fallback; default 2 */
    minCharCount?: number;
}

/**
 * SentencePiece as llama.cpp applies it: spaces become ▁ and the text gets a leading ▁. Pieces are
 * learnt from the segments between ▁s and newlines.
 */
function segmentsOf(text: string): string[] {
    const normalized = SPM_SPACE + text.replaceAll(" ", SPM_SPACE);
    return normalized.split(/(?=\u2581)|(?<=\n)/u).filter((s) => s.length > 0);
}

/**
 * Learns a vocabulary of pieces from a corpus: every character seen often enough, then the most frequent
 * segment prefixes. Ranking prefixes by count keeps the set prefix-closed (a prefix is at least as
 * frequent as any extension of it), which llama.cpp's merge rule needs to ever reach a long piece.
 * Deterministic: ties break by length, then by code point order.
 */
export function learnSpmPieces(texts: Iterable<string>, { pieceCount, minCharCount = 2 }: LearnPiecesOptions): string[] {
    const charCounts = new Map<string, number>();
    const prefixCounts = new Map<string, number>();
    for (const text of texts) {
        for (const segment of segmentsOf(text)) {
            const chars = [...segment];
            for (const char of chars) charCounts.set(char, (charCounts.get(char) ?? 0) + 1);
            for (let length = 2; length <= chars.length; length++) {
                const prefix = chars.slice(0, length).join("");
                prefixCounts.set(prefix, (prefixCounts.get(prefix) ?? 0) + 1);
            }
        }
    }
    const byCount = (a: [string, number], b: [string, number]): number =>
        b[1] - a[1] || [...a[0]].length - [...b[0]].length || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    const chars = [...charCounts].filter(([, count]) => count >= minCharCount).sort(byCount).map(([char]) => char);
    const known = new Set(chars);
    const pieces = [...chars];
    for (const [prefix] of [...prefixCounts].sort(byCount)) {
        if (pieces.length >= pieceCount) break;
        // a prefix whose shorter prefix fell below the cut (a rare character inside) stays out
        const parts = [...prefix];
        if (!known.has(parts.slice(0, -1).join("")) || !known.has(parts.at(-1)!)) continue;
        known.add(prefix);
        pieces.push(prefix);
    }
    return pieces;
}
