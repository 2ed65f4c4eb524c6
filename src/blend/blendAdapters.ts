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
import { checkStrength, scaleWeights, searchStrength, type StrengthChoice } from "./weights/blendStrength.js";
import { centroidSimilarities, taskEmbedding } from "./weights/similarity.js";
import { checkK } from "./weights/softmax.js";

/**
 * Blends a pool into one LoRA adapter for the task the examples show: weights by the chosen method, then
 * the weighted adapters combined exactly (concat) or re-compressed (svd), written as one GGUF file. No
 * gradient step; the pool's adapter files with non-zero weight are each read once. A strength s scales the
 * method's weights; at s = 0 the file keeps the method's adapters with B = 0, so it computes the base model.
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
    if (options.strength !== undefined && options.strength !== 1 && method === "lorahub") {
        throw new CrayonError("--strength applies to crayon, uniform, top1 and topk; lorahub's search already sets the size of its weights");
    }

    const clock = stopwatch();
    let similarities: number[] | undefined;
    if (usesSimilarities(method)) {
        if (options.embed === undefined) throw new CrayonError(`blend method ${method} needs an embedder for the examples`);
        const embeddings = await options.embed(examples);
        similarities = centroidSimilarities(taskEmbedding(embeddings), adapters.map((adapter) => centroidOf(pool, adapter.cluster, adapter.id)));
    }
    const embedMs = clock.lap();
    const { weights: methodWeights, search } = await blendWeights(method, {
        adapterCount: adapters.length,
        similarities,
        temperature: options.temperature,
        topK: options.topK,
        lorahub: options.lorahub
    });
    const strength = await chooseStrength(methodWeights, options);
    const weights = scaleWeights(methodWeights, strength.strength);
    const weightsMs = clock.lap();

    const chosen = adapters.flatMap((adapter, i) => (methodWeights[i] === 0 ? [] : [{ adapter, weight: methodWeights[i]! }]));
    if (chosen.length === 0) throw new CrayonError(`blend method ${method} gave every adapter weight 0; there is nothing to blend`);
    const chosenRank = chosen.reduce((sum, { adapter }) => sum + adapter.rank, 0);
    if (rank !== undefined && rank > chosenRank) {
        throw new CrayonError(`--rank ${rank} is larger than the blend's total rank ${chosenRank} (${chosen.length} adapters with non-zero weight); the exact concat is already smaller — use --combine concat`);
    }
    const factors = chosen.map(({ adapter }) => readAdapterFactors(path.join(pool.dir, adapter.file), options.base));
    const readMs = clock.lap();

    const concatenated = concatAdapters(factors.map((adapter, i) => ({ adapter, weight: chosen[i]!.weight })));
    const combined = rank === undefined ? concatenated : concatenated.map((m) => compressFactors(m, rank));
    const matrices = strength.strength === 1 ? combined : combined.map((m) => ({ ...m, scale: m.scale * strength.strength }));
    const combineMs = clock.lap();

    const blendRank = Math.max(...matrices.map((m) => m.rank));
    const info = {
        method, combine, pool: manifest.name, adapterIds: adapters.map((a) => a.id), weights, strength: strength.strength, rank: blendRank, baseSha256: manifest.baseModel.sha256
    };
    const written = writeBlendedAdapter(options.out, manifest.baseModel.architecture, matrices, info, options.base);
    const writeMs = clock.lap();

    return {
        adapterIds: info.adapterIds,
        weights,
        methodWeights,
        strength,
        ...(similarities === undefined ? {} : { similarities }),
        adapterPath: written.path,
        sha256: written.sha256,
        rank: blendRank,
        timings: { embedMs, weightsMs, readMs, combineMs, writeMs, blendMs: readMs + combineMs + writeMs },
        ...(search === undefined ? {} : { search })
    };
}

/** The strength given, or with "auto" the grid strength whose blend has the lowest few-shot loss on the examples. */
async function chooseStrength(methodWeights: readonly number[], options: BlendOptions): Promise<StrengthChoice> {
    const { strength = 1 } = options;
    if (strength !== "auto") return { strength: checkStrength(strength) };
    if (options.strengthLoss === undefined) throw new CrayonError("--strength auto needs a few-shot loss (a base model to evaluate the examples with)");
    return searchStrength(methodWeights, options.strengthLoss);
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
