import type { GgmlType } from "../gguf/constants.js";
import { LLAMA_ARCHITECTURE } from "../gguf/constants.js";
import { buildSpmVocab, spmVocabMetadata, SPM_SPACE } from "../tokenizer/spmVocab.js";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import { writeLlamaModel } from "./modelFile.js";
import { disposeWeights, randomLlamaWeights } from "./weights.js";

export interface RandomModelSpec {
    embeddingLength: number;
    blockCount: number;
    headCount: number;
    headCountKv: number;
    feedForwardLength: number;
    /** tokens; default 256 */
    contextLength?: number;
    tiedOutput?: boolean;
    matrixType?: GgmlType.F32 | GgmlType.F16;
    seed: number;
    /** Vocabulary pieces after the byte tokens; default: lowercase letters, digits, punctuation and a few words. */
    pieces?: string[];
    /** `general.name`; default "random-llama" */
    name?: string;
}

/** Letters, digits and punctuation as single pieces, then whole words with all their prefixes. */
export function defaultPieces(words: readonly string[] = ["the", "and", "answer", "question", "is", "of"]): string[] {
    const pieces = [SPM_SPACE, ...("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;?!()'-+=")];
    const seen = new Set(pieces);
    for (const word of words) {
        const spaced = SPM_SPACE + word;
        for (let length = 2; length <= spaced.length; length++) {
            const prefix = spaced.slice(0, length);
            if (!seen.has(prefix)) {
                seen.add(prefix);
                pieces.push(prefix);
            }
        }
    }
    return pieces;
}

/**
 * Writes a randomly initialised llama model with a SentencePiece-style tokenizer: the starting point of
 * the pre-trainer and the subject of the parity tests.
 */
export async function writeRandomLlamaModel(path: string, spec: RandomModelSpec): Promise<LlamaHparams> {
    const vocab = buildSpmVocab(spec.pieces ?? defaultPieces());
    const headDim = spec.embeddingLength / spec.headCount;
    const hp: LlamaHparams = {
        architecture: LLAMA_ARCHITECTURE,
        vocabSize: vocab.tokens.length,
        contextLength: spec.contextLength ?? 256,
        embeddingLength: spec.embeddingLength,
        blockCount: spec.blockCount,
        feedForwardLength: spec.feedForwardLength,
        headCount: spec.headCount,
        headCountKv: spec.headCountKv,
        headDim,
        ropeDimensionCount: headDim,
        ropeFreqBase: 10000,
        rmsEpsilon: 1e-5,
        tiedOutput: spec.tiedOutput ?? false
    };
    const weights = randomLlamaWeights(hp, spec.seed);
    try {
        await writeLlamaModel(path, {
            hp,
            weights,
            tokenizer: spmVocabMetadata(vocab),
            name: spec.name ?? "random-llama",
            matrixType: spec.matrixType
        });
    } finally {
        disposeWeights(weights);
    }
    return hp;
}
