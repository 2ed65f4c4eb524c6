import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { QaItem } from "../data/item.js";
import { loadUserExamples } from "../data/loaders/userExamples.js";
import { CrayonError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { LORA_TARGETS, loraTargetTensorKind, parseBlockTensorName, type LoraTarget } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLoraAdapter, type LoraAdapterInfo } from "../gguf/validate.js";
import { loadLlamaModel } from "../model/modelFile.js";
import { disposeWeights } from "../model/weights.js";
import { LlamaRuntime } from "../runtime/llama.js";
import { setupEngine } from "../train/engine/backend.js";
import { crayonVersion } from "../version.js";
import { countBy, describeClusters } from "./clusterReport.js";
import type { Pooling } from "./embed.js";
import { embedItemsCached } from "./embeddingCache.js";
import { fingerprintBaseModel, sha256File } from "./fingerprint.js";
import { createHiddenStateEmbedder } from "./hiddenStateEmbedder.js";
import { POOL_FORMAT_VERSION, type EmbedderSpec, type PoolAdapter, type PoolManifest } from "./manifest.js";
import { MANIFEST_FILE, adapterFile, adapterId, cacheDir, readManifest, removeStaleTemporaries, writeManifest } from "./poolFiles.js";
import { meanDirection } from "./vectors.js";

export interface ImportAdaptersOptions {
    /** the base model every adapter was trained for */
    modelPath: string;
    /** GGUF LoRA adapters, one pool adapter (and cluster) each, in this order */
    adapterPaths: readonly string[];
    /**
     * one examples file per adapter, in the same order: the data it was trained on, or a few examples of its
     * task; normalized QA `.jsonl` or `.csv` as `loadUserExamples` reads them
     */
    dataPaths: readonly string[];
    outDir: string;
    /** how token states become an item embedding, as in a built pool */
    pooling: Pooling;
    /** after each batch of newly embedded examples: (done, toEmbed) */
    onEmbedding?: (done: number, total: number) => void;
}

/** One adapter to import, read and checked: nothing is written before every source has passed. */
interface AdapterSource {
    adapterPath: string;
    dataPath: string;
    info: LoraAdapterInfo;
    targets: LoraTarget[];
    sha256: string;
    items: QaItem[];
}

/**
 * `crayon build-pool --from-adapters`: a pool from LoRA adapters trained elsewhere for the same base. Each
 * adapter becomes one cluster whose centroid is the normalised mean embedding of its examples, made by the
 * same embedder as a built pool's, so `crayon blend` weighs imported and built pools alike. Every input is
 * checked first (adapters against the base, examples files readable and non-empty), so a refused import
 * writes nothing; the adapters are then copied atomically and the manifest, written last, refers only to
 * complete copies whose sha256 is that of the source.
 */
export async function importAdapters(options: ImportAdaptersOptions): Promise<PoolManifest> {
    const { outDir, modelPath } = options;
    const pairs = pairAdaptersWithData(options.adapterPaths, options.dataPaths);
    if ((await readManifest(outDir)) !== null) {
        throw new CrayonError(`${outDir} already holds a pool (${MANIFEST_FILE}); choose another --out, or delete it to import again`);
    }
    const baseModel = await fingerprintBaseModel(modelPath);
    const base = await readGguf(modelPath);
    const sources: AdapterSource[] = [];
    for (const pair of pairs) sources.push(await readAdapterSource(pair, base));

    const items = sources.flatMap((source) => source.items);
    const assignment = Int32Array.from(sources.flatMap((source, i) => source.items.map(() => i))); // example → its adapter's cluster
    const { vectors, spec } = await embedExamples(options, baseModel.sha256, items);
    const centroids = sources.map((_, i) => meanDirection(vectors.filter((_, j) => assignment[j] === i), spec.dimension));

    await mkdir(path.join(outDir, "adapters"), { recursive: true });
    await removeStaleTemporaries(outDir);
    const adapters: PoolAdapter[] = [];
    for (const [i, source] of sources.entries()) adapters.push(await copyIntoPool(outDir, source, i));
    const report = describeClusters(items, assignment, sources.length);
    const manifest: PoolManifest = {
        format: "crayon-pool",
        formatVersion: POOL_FORMAT_VERSION,
        name: path.basename(path.resolve(outDir)),
        createdWith: { crayon: crayonVersion() },
        baseModel,
        embedder: spec,
        centroids: centroids.map((c) => Array.from(c)),
        clustering: { k: sources.length, purity: report.purity, clusters: report.clusters },
        adapters
    };
    await writeManifest(outDir, manifest);
    return manifest;
}

/** Adapters and examples files matched by position; an adapter without examples has no centroid and is refused. */
function pairAdaptersWithData(adapterPaths: readonly string[], dataPaths: readonly string[]): { adapterPath: string; dataPath: string }[] {
    if (adapterPaths.length === 0) throw new CrayonError("--from-adapters: no adapter files given");
    const counts = `${adapterPaths.length} --from-adapters, ${dataPaths.length} --adapter-data`;
    if (dataPaths.length < adapterPaths.length) {
        throw new CrayonError(`${adapterPaths[dataPaths.length]}: no examples file to compute its centroid from (${counts}); give --adapter-data with one .jsonl or .csv per adapter, in the same order — the data it was trained on, or a few examples of its task`);
    }
    if (dataPaths.length > adapterPaths.length) {
        throw new CrayonError(`${dataPaths[adapterPaths.length]}: an examples file without an adapter (${counts}); give one --adapter-data file per --from-adapters file, in the same order`);
    }
    return adapterPaths.map((adapterPath, i) => ({ adapterPath, dataPath: dataPaths[i]! }));
}

async function readAdapterSource({ adapterPath, dataPath }: { adapterPath: string; dataPath: string }, base: GgufFile): Promise<AdapterSource> {
    const info = validateLoraAdapter(await readGguf(adapterPath), base);
    const targets = poolTargets(adapterPath, info);
    const items = await loadUserExamples(dataPath);
    if (items.length === 0) {
        throw new CrayonError(`${dataPath}: no examples for ${path.basename(adapterPath)}; write the items it was trained on (or a few of its task), one question with its choices and answer per line`);
    }
    return { adapterPath, dataPath, info, targets, sha256: await sha256File(adapterPath), items };
}

/** The manifest names targets by projection (q, k, …), and blending multiplies factors: block projections only. */
function poolTargets(adapterPath: string, info: LoraAdapterInfo): LoraTarget[] {
    const adapted = new Set<LoraTarget>();
    for (const baseName of Object.keys(info.targets)) {
        const kind = parseBlockTensorName(baseName)?.kind;
        const target = LORA_TARGETS.find((t) => loraTargetTensorKind(t) === kind);
        if (target === undefined) throw new CrayonError(`${adapterPath}: adapts ${baseName}; a pool's adapters may adapt only the block projections ${LORA_TARGETS.join(",")}`);
        adapted.add(target);
    }
    return LORA_TARGETS.filter((t) => adapted.has(t));
}

/** The examples' vectors ([n][dimension]) from the base model's hidden states, through the pool's embedding cache. */
async function embedExamples(options: ImportAdaptersOptions, modelSha256: string, items: readonly QaItem[]): Promise<{ vectors: Float32Array[]; spec: EmbedderSpec }> {
    await setupEngine();
    const base = await loadLlamaModel(options.modelPath);
    const runtime = await LlamaRuntime.create();
    try {
        const tokenizer = await runtime.loadModel(options.modelPath, { vocabOnly: true });
        try {
            const embedder = createHiddenStateEmbedder(base, tokenizer, { pooling: options.pooling, modelSha256 });
            const vectors = await embedItemsCached(embedder, items, { cacheDir: cacheDir(options.outDir), onProgress: options.onEmbedding });
            return { vectors, spec: embedder.spec };
        } finally {
            await tokenizer.dispose();
        }
    } finally {
        await runtime.dispose();
        disposeWeights(base.weights);
    }
}

async function copyIntoPool(outDir: string, source: AdapterSource, cluster: number): Promise<PoolAdapter> {
    const id = adapterId(cluster);
    const file = adapterFile(id);
    const copy = path.join(outDir, file);
    writeFileAtomic(copy, [await readFile(source.adapterPath)]);
    const sha256 = await sha256File(copy);
    if (sha256 !== source.sha256) throw new CrayonError(`${source.adapterPath}: changed while it was being imported (sha256 ${source.sha256.slice(0, 12)}… then ${sha256.slice(0, 12)}…); import again`);
    const { items } = source;
    return {
        id,
        file,
        sha256,
        // llama.cpp reads r per tensor; an adapter with several ranks is recorded by its largest
        rank: Math.max(...source.info.ranks),
        alpha: source.info.alpha,
        targets: source.targets,
        cluster,
        clusterSize: items.length,
        tasks: countBy(items, (item) => item.task),
        sources: countBy(items, (item) => item.source),
        imported: { adapter: path.basename(source.adapterPath), data: path.basename(source.dataPath) }
    };
}
