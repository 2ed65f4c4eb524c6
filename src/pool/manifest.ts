import type { LoraTarget } from "../gguf/constants.js";

/** The format of `pools/<name>/manifest.json`; bumped on any incompatible change. */
export const POOL_FORMAT_VERSION = 1;

/** Identifies the base model a pool was built for; blending against any other base is refused. */
export interface BaseModelFingerprint {
    /** sha256 of the whole GGUF file, hex */
    sha256: string;
    architecture: string;
    embeddingLength: number;
    blockCount: number;
    vocabSize: number;
    /** file name only (never a machine's path), for messages */
    fileName: string;
}

/** How pool items and user examples are embedded: from the base model itself. */
export interface EmbedderSpec {
    kind: "base-model";
    /** "mean" or "last" token pooling of the final hidden states */
    pooling: "mean" | "last";
    /** the text of an item that is embedded: the formatted prompt without the answer */
    text: "prompt";
    /** L2-normalised, so cosine similarity is a dot product */
    normalized: true;
    /** length of each embedding and centroid */
    dimension: number;
}

export interface PoolAdapter {
    /** stable id, e.g. "c03" */
    id: string;
    /** path relative to the pool folder, e.g. "adapters/c03.gguf" */
    file: string;
    sha256: string;
    rank: number;
    alpha: number;
    targets: LoraTarget[];
    /** index into `centroids` */
    cluster: number;
    /** training items in the cluster */
    clusterSize: number;
    /** items per task (and per source) among the cluster's training items */
    tasks: Record<string, number>;
    sources: Record<string, number>;
    training: {
        steps: number;
        /** mean answer-token cross-entropy (nats) every `lossEvery` steps */
        lossCurve: number[];
        lossEvery: number;
        /** held-out loss of the cluster's items: base model vs with the adapter (nats) */
        heldOutLossBase?: number;
        heldOutLossAdapter?: number;
        tokensPerSecond?: number;
        seconds?: number;
    };
}

export interface PoolManifest {
    format: "crayon-pool";
    formatVersion: typeof POOL_FORMAT_VERSION;
    name: string;
    createdWith: { crayon: string };
    baseModel: BaseModelFingerprint;
    embedder: EmbedderSpec;
    /** K cluster centroids in embedding space, L2-normalised: [K][dimension] */
    centroids: number[][];
    clustering: {
        k: number;
        seed: number;
        /** fraction of items whose cluster's majority task group is their own (when groups are known) */
        purity?: number;
        silhouette?: number;
    };
    /** the finished adapters; an interrupted build lists only the ones completely written */
    adapters: PoolAdapter[];
}
