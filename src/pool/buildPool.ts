import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { CrayonError } from "../errors.js";
import type { QaItem } from "../data/item.js";
import { hashString } from "../data/random.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { loadLlamaModel } from "../model/modelFile.js";
import { disposeWeights } from "../model/weights.js";
import { ItemEncoder } from "../runtime/encode.js";
import { LlamaRuntime } from "../runtime/llama.js";
import { setupEngine } from "../train/engine/backend.js";
import { crayonVersion } from "../version.js";
import type { CreateLoraOptimization } from "../train/adapterTrainer.js";
import { poolName, trainPoolAdapter, type ClusterJob } from "./clusterAdapter.js";
import { describeClusters, type ClusterReport } from "./clusterReport.js";
import type { ClusterTrainingSpec } from "../train/clusterTraining.js";
import type { TrainingTick } from "../train/trainingTick.js";
import type { Pooling } from "./embed.js";
import { embedItemsCached } from "./embeddingCache.js";
import { fingerprintBaseModel, sha256File } from "./fingerprint.js";
import { createHiddenStateEmbedder } from "./hiddenStateEmbedder.js";
import { clusterSizes, kMeans } from "./kmeans.js";
import { fingerprintMismatch } from "./loadPool.js";
import { POOL_FORMAT_VERSION, type PoolAdapter, type PoolBuildSettings, type PoolManifest } from "./manifest.js";
import { adapterFile, adapterId, cacheDir, checkpointDir, readManifest, removeStaleTemporaries, writeManifest } from "./poolFiles.js";
import { chooseClusterCount, silhouetteScore } from "./silhouette.js";
import { dot } from "./vectors.js";

export interface BuildPoolOptions extends Omit<ClusterTrainingSpec, "steps"> {
    modelPath: string;
    items: readonly QaItem[];
    /** what the items are, for the manifest: a benchmark name or file name */
    dataLabel: string;
    outDir: string;
    /** a number, or "auto": by silhouette over `autoRange` (the smallest K within one standard error of the best) */
    clusters: number | "auto";
    autoRange?: [number, number];
    /** exactly one of steps (per adapter) and epochs (passes over each cluster's training items) */
    steps?: number;
    epochs?: number;
    heldOutShare: number;
    /** share of the remaining cluster items used to choose the training step to keep (early stopping) */
    validationShare: number;
    pooling: Pooling;
    createOptimization: CreateLoraOptimization;
    /** train the missing adapters elsewhere (workers of a queue) instead of here, one after another */
    remote?: RemoteTraining;
    events?: BuildPoolEvents;
}

/**
 * Trains the clusters' adapters somewhere else and hands each finished one to `save` with its GGUF file's
 * bytes, whose sha256 `save`'s caller has checked against the record.
 */
export type RemoteTraining = (jobs: ClusterJob[], save: (adapter: PoolAdapter, gguf: Uint8Array) => Promise<void>) => Promise<void>;

export interface BuildPoolEvents {
    onEmbedding?: (done: number, total: number) => void;
    onClusters?: (report: ClusterReport, manifest: PoolManifest) => void;
    /** an adapter found complete on disk (sha256 verified) and kept */
    onAdapterKept?: (adapter: PoolAdapter) => void;
    onAdapterStart?: (info: { id: string; index: number; count: number; totalSteps: number; startStep: number }) => void;
    onTick?: (id: string, tick: TrainingTick) => void;
    onAdapterDone?: (adapter: PoolAdapter) => void;
}

/**
 * `crayon build-pool`: embed the items with the base model, cluster them, and train one LoRA per cluster.
 * Restartable at any point: the manifest is rewritten (atomically) after each finished adapter and lists
 * only complete, verified files; re-running the same build keeps those and continues the interrupted
 * adapter from its newest checkpoint. The adapters are trained here, or by `options.remote`'s workers from
 * the same `ClusterJob`s with the same code (`trainPoolAdapter`).
 */
export async function buildPool(options: BuildPoolOptions): Promise<PoolManifest> {
    const { outDir, events = {} } = options;
    await setupEngine();
    const baseModel = await fingerprintBaseModel(options.modelPath);
    const settings = buildSettings(options);
    const previous = await readManifest(outDir);
    if (previous !== null) checkResumable(previous, baseModel, settings, options);
    await mkdir(path.join(outDir, "adapters"), { recursive: true });
    await removeStaleTemporaries(outDir);

    const base = await loadLlamaModel(options.modelPath);
    const runtime = await LlamaRuntime.create();
    try {
        const model = await runtime.loadModel(options.modelPath);
        const encoder = new ItemEncoder(model, options.modelPath);
        const embedder = createHiddenStateEmbedder(base, model, { pooling: options.pooling, modelSha256: baseModel.sha256 });
        const vectors = await embedItemsCached(embedder, options.items, { cacheDir: cacheDir(outDir), onProgress: events.onEmbedding });

        const manifest = previous ?? (await clusterInto(options, vectors, { baseModel, settings, dimension: embedder.spec.dimension, spec: embedder.spec }));
        const centroids = manifest.centroids.map((c) => Float32Array.from(c));
        const assignment = Int32Array.from(vectors, (v) => nearest(v, centroids));
        const report = describeClusters(options.items, assignment, centroids.length);
        if (previous === null) {
            manifest.clustering.clusters = report.clusters;
            manifest.clustering.purity = report.purity;
            await writeManifest(outDir, manifest);
        }
        events.onClusters?.(report, manifest);

        const kept: PoolAdapter[] = [];
        for (const adapter of manifest.adapters) {
            const intact = await sha256File(path.join(outDir, adapter.file)).then((sha) => sha === adapter.sha256, () => false);
            if (intact) {
                kept.push(adapter);
                events.onAdapterKept?.(adapter);
            }
        }
        manifest.adapters = kept;
        const jobs: ClusterJob[] = [];
        for (let cluster = 0; cluster < centroids.length; cluster++) {
            if (manifest.adapters.some((a) => a.cluster === cluster)) continue;
            jobs.push({ poolName: poolName(outDir), baseModel, settings, cluster, members: options.items.filter((_, i) => assignment[i] === cluster) });
        }
        const save = async (adapter: PoolAdapter, gguf?: Uint8Array): Promise<void> => {
            if (gguf !== undefined) writeFileAtomic(path.join(outDir, adapter.file), [gguf]);
            manifest.adapters.push(adapter);
            manifest.adapters.sort((a, b) => a.cluster - b.cluster);
            await writeManifest(outDir, manifest);
            events.onAdapterDone?.(adapter);
        };
        if (options.remote !== undefined) {
            await options.remote(jobs, save);
        } else {
            for (const job of jobs) {
                const id = adapterId(job.cluster);
                const adapter = await trainPoolAdapter({ base, runtime, model, encoder }, job, { adapterPath: path.join(outDir, adapterFile(id)), checkpoints: checkpointDir(outDir, id) }, {
                    createOptimization: options.createOptimization,
                    onStart: (startStep, totalSteps) => events.onAdapterStart?.({ id, index: job.cluster, count: centroids.length, totalSteps, startStep }),
                    onTick: (tick) => events.onTick?.(id, tick)
                });
                await save(adapter);
            }
        }
        await rm(path.join(outDir, "checkpoints"), { recursive: true, force: true });
        await model.dispose();
        return manifest;
    } finally {
        await runtime.dispose();
        disposeWeights(base.weights);
    }
}

function buildSettings(options: BuildPoolOptions): PoolBuildSettings {
    if ((options.steps === undefined) === (options.epochs === undefined)) throw new CrayonError("give exactly one of --steps and --epochs");
    return {
        data: options.dataLabel,
        items: options.items.length,
        itemsHash: hashString(options.items.map((item) => item.id).join("\n")).toString(16),
        rank: options.rank,
        alpha: options.alpha,
        targets: options.targets,
        ...(options.steps !== undefined ? { steps: options.steps } : { epochs: options.epochs }),
        learningRate: options.learningRate,
        batchSize: options.batchSize,
        seqLen: options.seqLen,
        seed: options.seed,
        heldOutShare: options.heldOutShare,
        validationShare: options.validationShare,
        rotateChoices: options.rotateChoices
    };
}

/** A pool folder can be continued only by the same build: same base, same items, same settings. */
function checkResumable(previous: PoolManifest, baseModel: PoolManifest["baseModel"], settings: PoolBuildSettings, options: BuildPoolOptions): void {
    if (previous.baseModel.sha256 !== baseModel.sha256) throw fingerprintMismatch(options.outDir, previous.baseModel, options.modelPath, baseModel);
    const differing = Object.keys(settings).filter((key) => JSON.stringify(settings[key as keyof PoolBuildSettings]) !== JSON.stringify(previous.build?.[key as keyof PoolBuildSettings]));
    const clustersDiffer = options.clusters !== "auto" && options.clusters !== previous.clustering.k;
    if (differing.length > 0 || clustersDiffer || options.pooling !== previous.embedder.pooling) {
        const what = [...differing, ...(clustersDiffer ? ["clusters"] : []), ...(options.pooling !== previous.embedder.pooling ? ["pooling"] : [])];
        throw new CrayonError(`${options.outDir} holds a pool built with other settings (${what.join(", ")}); choose another --out, or delete it to rebuild`);
    }
}

/** The most similar centroid (cosine on unit vectors). */
function nearest(vector: Float32Array, centroids: readonly Float32Array[]): number {
    let best = 0;
    centroids.forEach((c, j) => {
        if (dot(vector, c) > dot(vector, centroids[best]!)) best = j;
    });
    return best;
}

async function clusterInto(options: BuildPoolOptions, vectors: Float32Array[], fixed: { baseModel: PoolManifest["baseModel"]; settings: PoolBuildSettings; dimension: number; spec: PoolManifest["embedder"] }): Promise<PoolManifest> {
    const clustering: PoolManifest["clustering"] = { k: 0, seed: options.seed };
    let result;
    if (options.clusters === "auto") {
        const [minK, maxK] = options.autoRange ?? [2, 12];
        const choice = chooseClusterCount(vectors, { minK, maxK, seed: options.seed });
        result = choice.result;
        clustering.silhouette = choice.silhouette;
        clustering.silhouetteByK = choice.candidates;
    } else {
        result = kMeans(vectors, { k: options.clusters, seed: options.seed });
        clustering.silhouette = silhouetteScore(vectors, result.assignment, options.clusters, { seed: options.seed });
    }
    clustering.k = result.centroids.length;
    if (clusterSizes(result.assignment, clustering.k).some((size) => size === 0)) throw new CrayonError(`k-means left a cluster empty: ask for fewer than ${clustering.k} clusters`);
    return {
        format: "crayon-pool",
        formatVersion: POOL_FORMAT_VERSION,
        name: poolName(options.outDir),
        createdWith: { crayon: crayonVersion() },
        baseModel: fixed.baseModel,
        embedder: fixed.spec,
        scoring: options.items.every((item) => item.scoring === "cloze") ? "cloze" : "letter",
        centroids: result.centroids.map((c) => Array.from(c)),
        clustering,
        build: fixed.settings,
        adapters: []
    };
}
