import path from "node:path";
import { performance } from "node:perf_hooks";
import type { QaItem } from "../data/item.js";
import { CrayonError } from "../errors.js";
import { readAdapterFactors } from "./adapterFactors.js";
import { concatAdapters } from "./combine/concat.js";
import { compressFactors } from "./combine/svd.js";
import type { BlendOptions, BlendPool, BlendResult } from "./types.js";
import { writeBlendedAdapter } from "./writeBlendedAdapter.js";
import { blendWeights, usesSimilarities } from "./weights/blendWeights.js";
import { centroidSimilarities, taskEmbedding } from "./weights/similarity.js";
import { checkK } from "./weights/softmax.js";

/**
 * Blends a pool into one LoRA adapter for the task the examples show: weights by the chosen method, then
 * the weighted adapters combined exactly (concat) or re-compressed (svd), written as one GGUF file. No
 * gradient step; the pool's adapter files with non-zero weight are each read once.
 */
export async function blendAdapters(pool: BlendPool, examples: readonly QaItem[], options: BlendOptions): Promise<BlendResult> {
    const { manifest } = pool;
    const method = options.method ?? "crayon";
    const combine = options.combine ?? "concat";
    const adapters = manifest.adapters;
    if (examples.length === 0) throw new CrayonError("no examples to blend from; give at least one question with its answer");
    if (adapters.length === 0) throw new CrayonError(`pool ${manifest.name} has no adapters`);
    const rank = checkedRank(pool, options);
    if (options.topK !== undefined) checkK(options.topK, adapters.length);

    const clock = stopwatch();
    let similarities: number[] | undefined;
    if (usesSimilarities(method)) {
        if (options.embed === undefined) throw new CrayonError(`blend method ${method} needs an embedder for the examples`);
        const embeddings = await options.embed(examples);
        similarities = centroidSimilarities(taskEmbedding(embeddings), adapters.map((adapter) => centroidOf(pool, adapter.cluster, adapter.id)));
    }
    const embedMs = clock.lap();
    const { weights, search } = await blendWeights(method, {
        adapterCount: adapters.length,
        similarities,
        temperature: options.temperature,
        topK: options.topK,
        lorahub: options.lorahub
    });
    const weightsMs = clock.lap();

    const chosen = adapters.flatMap((adapter, i) => (weights[i] === 0 ? [] : [{ adapter, weight: weights[i]! }]));
    if (chosen.length === 0) throw new CrayonError(`blend method ${method} gave every adapter weight 0; there is nothing to blend`);
    const chosenRank = chosen.reduce((sum, { adapter }) => sum + adapter.rank, 0);
    if (rank !== undefined && rank > chosenRank) {
        throw new CrayonError(`--rank ${rank} is larger than the blend's total rank ${chosenRank} (${chosen.length} adapters with non-zero weight); the exact concat is already smaller — use --combine concat`);
    }
    const factors = chosen.map(({ adapter }) => readAdapterFactors(path.join(pool.dir, adapter.file), options.base));
    const readMs = clock.lap();

    const concatenated = concatAdapters(factors.map((adapter, i) => ({ adapter, weight: chosen[i]!.weight })));
    const matrices = rank === undefined ? concatenated : concatenated.map((m) => compressFactors(m, rank));
    const combineMs = clock.lap();

    const blendRank = Math.max(...matrices.map((m) => m.rank));
    const info = {
        method, combine, pool: manifest.name, adapterIds: adapters.map((a) => a.id), weights, rank: blendRank, baseSha256: manifest.baseModel.sha256
    };
    const written = writeBlendedAdapter(options.out, manifest.baseModel.architecture, matrices, info, options.base);
    const writeMs = clock.lap();

    return {
        adapterIds: info.adapterIds,
        weights,
        ...(similarities === undefined ? {} : { similarities }),
        adapterPath: written.path,
        sha256: written.sha256,
        rank: blendRank,
        timings: { embedMs, weightsMs, readMs, combineMs, writeMs, blendMs: readMs + combineMs + writeMs },
        ...(search === undefined ? {} : { search })
    };
}

/** svd's target rank (default: the pool's largest adapter rank), checked before anything is computed. */
function checkedRank(pool: BlendPool, options: BlendOptions): number | undefined {
    const { adapters } = pool.manifest;
    if (options.combine !== "svd") {
        if (options.rank !== undefined) throw new CrayonError("--rank applies to --combine svd only; concat keeps the exact rank Σrᵢ");
        return undefined;
    }
    const rank = options.rank ?? Math.max(...adapters.map((a) => a.rank));
    if (!Number.isInteger(rank) || rank < 1) throw new CrayonError(`--rank must be a positive integer, got ${rank}`);
    const total = adapters.reduce((sum, a) => sum + a.rank, 0);
    if (rank > total) throw new CrayonError(`--rank ${rank} is larger than the pool's total rank ${total} (Σ of its ${adapters.length} adapters' ranks)`);
    return rank;
}

function centroidOf(pool: BlendPool, cluster: number, id: string): number[] {
    const centroid = pool.manifest.centroids[cluster];
    if (centroid === undefined) throw new CrayonError(`${path.join(pool.dir, "manifest.json")}: adapter ${id} names cluster ${cluster} but there are ${pool.manifest.centroids.length} centroids`);
    return centroid;
}

/** Milliseconds since the previous lap. */
function stopwatch(): { lap(): number } {
    let last = performance.now();
    return {
        lap() {
            const now = performance.now();
            const elapsed = now - last;
            last = now;
            return elapsed;
        }
    };
}
