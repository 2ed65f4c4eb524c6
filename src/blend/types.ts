import type { QaItem } from "../data/item.js";
import type { GgufFile } from "../gguf/types.js";
import type { PoolManifest } from "../pool/manifest.js";
import type { BlendStrength, StrengthChoice } from "./weights/blendStrength.js";
import type { FewShotLoss, LorahubOptions } from "./weights/lorahubWeights.js";

/** How the blend weights are chosen (see `blendWeights`). */
export const BLEND_METHODS = ["crayon", "lorahub", "uniform", "top1", "topk"] as const;
export type BlendMethod = (typeof BLEND_METHODS)[number];

/** How the weighted adapters become one: exact concatenation, or its SVD re-compression to a rank. */
export const COMBINE_METHODS = ["concat", "svd"] as const;
export type CombineMethod = (typeof COMBINE_METHODS)[number];

/** Unit-length embeddings of items, as the pool's centroids were made: [n][dimension]. */
export type EmbedItems = (items: readonly QaItem[]) => Promise<ArrayLike<number>[]>;

/** A pool as the blend needs it: its folder (adapter files are relative to it) and its manifest. */
export interface BlendPool {
    dir: string;
    manifest: PoolManifest;
}

export interface BlendOptions {
    /** default "crayon" */
    method?: BlendMethod;
    /** crayon: softmax temperature τ; default 0.05 */
    temperature?: number;
    /** crayon: keep the k best adapters (default all); topk: how many to average (default 3) */
    topK?: number;
    /** default "concat" */
    combine?: CombineMethod;
    /** svd: rank of every blended weight; default the pool's largest adapter rank */
    rank?: number;
    /** a folder (the file is named `blend-<sha12>.gguf`) or a `.gguf` file path */
    out: string;
    /** the base model, read once: pool adapters and the result are validated against it */
    base?: GgufFile;
    /** crayon, top1, topk: embeds the examples */
    embed?: EmbedItems;
    /** lorahub: the few-shot loss of a weight vector, and the search's settings */
    lorahub?: LorahubOptions & { fewShotLoss: FewShotLoss };
    /** every method but lorahub: the method's weights are scaled by this, or by the grid strength with the lowest `strengthLoss` when "auto"; default 1 */
    strength?: BlendStrength;
    /** strength "auto": the few-shot loss of a weight vector on the examples (as lorahub's) */
    strengthLoss?: FewShotLoss;
}

/** Milliseconds of each stage; the blend proper is read + combine + write, embedding is separate. */
export interface BlendTimings {
    embedMs: number;
    /** computing the weights from the embeddings (lorahub and strength auto: the whole search) */
    weightsMs: number;
    /** reading and decoding the adapter files with non-zero weight */
    readMs: number;
    combineMs: number;
    /** hashing, writing and validating the result */
    writeMs: number;
    /** read + combine + write */
    blendMs: number;
}

export interface BlendResult {
    /** pool adapters in manifest order and their weights, the method's times the strength: [K] */
    adapterIds: string[];
    weights: number[];
    /** the method's own weights, before the strength: [K] */
    methodWeights: number[];
    /** the scale applied to the method's weights, and with strength "auto" the loss at each grid point */
    strength: StrengthChoice;
    /** cosine of the task embedding with each adapter's centroid, when the method embeds: [K] */
    similarities?: number[];
    /** the written adapter; its name carries the content hash when `out` is a folder */
    adapterPath: string;
    sha256: string;
    /** largest rank of any blended weight */
    rank: number;
    timings: BlendTimings;
    /** lorahub: loss evaluations used, and the few-shot loss at the start (uniform) and at the result */
    search?: { evaluations: number; startLoss: number; loss: number };
}
