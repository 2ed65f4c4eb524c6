import type { GgmlType } from "../gguf/constants.js";
import type { ScoringMode } from "../data/prompt.js";
import type { LossOn } from "./sequences.js";

/** Everything that determines a pre-training run; the same config and seed give the same model. */
export interface PretrainConfig {
    /** model name written into the GGUF, e.g. "crayon-device" */
    name: string;
    model: {
        embeddingLength: number; // d
        blockCount: number;
        headCount: number;
        headCountKv: number;
        feedForwardLength: number;
        contextLength: number; // tokens
        tiedOutput: boolean;
    };
    /** vocabulary pieces learnt from the corpus (the vocabulary adds 3 control and 256 byte tokens) */
    vocabPieces: number;
    /** the form items are taught in: the lettered prompt and the letter, or the question and the answer's text (cloze) */
    scoring: ScoringMode;
    /** letter scoring: which tokens of an item are scored (see itemSequence); cloze: "answer", the answer's text */
    lossOn: LossOn;
    /** with lossOn "answer": the loss weight of each prompt token, the answer's being 1; absent means 0 */
    promptLossWeight?: number;
    /** benchmark whose `pretrain` corpus the model learns */
    benchmark: string;
    /**
     * true: the pool tasks' items and the server's own (server and out-of-scope tasks) are left out of the
     * corpus, as a base model pre-trained elsewhere has never seen the data a pool is built from nor what
     * only a larger model knows; the pool's adapters then teach what the base lacks
     */
    deviceCorpus?: boolean;
    steps: number;
    batchSize: number; // sequences per step
    /** longest sequence in tokens; shorter batches use the shortest multiple of 8 that fits */
    maxSeqLen: number;
    learningRate: number; // peak, after warm-up
    minLearningRate: number; // cosine floor
    warmupSteps: number;
    weightDecay: number; // decoupled (AdamW), on matrices only
    clipNorm: number; // global gradient norm
    seed: number;
    checkpointEvery: number; // steps
    /** storage type of the exported matrices */
    matrixType: GgmlType.F32 | GgmlType.F16;
}
