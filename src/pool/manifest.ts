import type { ScoringMode } from "../data/prompt.js";
import type { LoraTarget } from "../gguf/constants.js";
import type { ClusterContents } from "./clusterReport.js";

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
    /** the text of an item that is embedded: its prompt as it is scored, without the answer (promptText: the lettered prompt, or the cloze context) */
    text: "prompt";
    /** L2-normalised, so cosine similarity is a dot product */
    normalized: true;
    /** length of each embedding and centroid */
    dimension: number;
}

/** Option accuracy (0–1) on one task's share of a cluster's held-out items: base model vs with the adapter. */
export interface HeldOutTaskAccuracy {
    task: string;
    items: number;
    accuracyBase: number;
    accuracyAdapter: number;
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
    /** training items in the cluster (an imported adapter: the examples its centroid was computed from) */
    clusterSize: number;
    /** items per task (and per source) among the cluster's training items */
    tasks: Record<string, number>;
    sources: Record<string, number>;
    /** absent for an imported adapter: it was trained elsewhere, so there is no loss curve */
    training?: {
        steps: number;
        /** mean answer-token cross-entropy (nats) every `lossEvery` steps */
        lossCurve: number[];
        lossEvery: number;
        /** validation loss (nats per answer) at step 0 and every `validationEvery` steps, and the step kept */
        validationCurve?: number[];
        validationEvery?: number;
        validationItems?: number;
        keptStep?: number;
        /** held-out loss of the cluster's items: base model vs with the adapter (nats) */
        heldOutLossBase?: number;
        heldOutLossAdapter?: number;
        /** option-letter accuracy on the same held-out items, 0–1: base model vs with the adapter */
        heldOutAccuracyBase?: number;
        heldOutAccuracyAdapter?: number;
        /** cluster items kept out of training for those two losses */
        heldOutItems?: number;
        /** the held-out accuracies per task, most held-out items first */
        heldOutByTask?: HeldOutTaskAccuracy[];
        tokensPerSecond?: number;
        seconds?: number;
    };
    /** an adapter trained elsewhere (`build-pool --from-adapters`): the file names (never paths) it and its examples came from */
    imported?: { adapter: string; data: string };
}

export interface PoolManifest {
    format: "crayon-pool";
    formatVersion: typeof POOL_FORMAT_VERSION;
    name: string;
    createdWith: { crayon: string };
    baseModel: BaseModelFingerprint;
    embedder: EmbedderSpec;
    /**
     * How the adapters were trained and how the device reads answers with them: the pool items' scoring.
     * User examples and chat questions are scored this way; absent (older pools, imported adapters): letter.
     */
    scoring?: ScoringMode;
    /** K cluster centroids in embedding space, L2-normalised: [K][dimension] */
    centroids: number[][];
    clustering: {
        k: number;
        /** the k-means seed; absent for imported adapters (one cluster each, no k-means) */
        seed?: number;
        /** fraction of items whose cluster's majority task group is their own (when groups are known) */
        purity?: number;
        silhouette?: number;
        /** `--clusters auto`: every K tried, its silhouette and that estimate's standard error */
        silhouetteByK?: { k: number; silhouette: number; standardError?: number }[];
        /** per cluster: size, tasks, sources, majority domain */
        clusters?: ClusterContents[];
    };
    /** how the pool was built, so that re-running the same build resumes it and a different one is refused; absent for imported adapters */
    build?: PoolBuildSettings;
    /** the finished adapters; an interrupted build lists only the ones completely written */
    adapters: PoolAdapter[];
}

/** The settings of a `build-pool` run that decide what its adapters are. */
export interface PoolBuildSettings {
    /** benchmark name or definition file name */
    data: string;
    items: number;
    /** hash of the pool items' ids, in order */
    itemsHash: string;
    rank: number;
    alpha: number;
    targets: LoraTarget[];
    /** optimisation steps per adapter (`--steps`), or passes over each cluster's training items (`--epochs`) */
    steps?: number;
    epochs?: number;
    learningRate: number;
    batchSize: number;
    seqLen: number;
    seed: number;
    /** share of each cluster's items held out for the base-vs-adapter loss */
    heldOutShare: number;
    /** share of the rest kept out of training to choose the step whose adapter is written */
    validationShare: number;
    /** whether adapters were trained on every rotation of each item's options (absent in older manifests: one order) */
    rotateChoices?: boolean;
}
