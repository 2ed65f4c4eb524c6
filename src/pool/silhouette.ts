import { createRng } from "../data/random.js";
import { clusterSizes, kMeans, type KMeansResult } from "./kmeans.js";
import { dot } from "./vectors.js";

export interface SilhouetteOptions {
    /** at most this many vectors are scored (a seeded sample), because the score is O(n²). Default 1000 */
    sampleSize?: number;
    seed?: number;
}

/**
 * Mean silhouette (b − a) / max(a, b) with cosine distance, where a is a vector's mean distance to its
 * own cluster and b its mean distance to the nearest other cluster; in [−1, 1], higher is better
 * separated. A vector alone in its cluster scores 0, as in the usual definition.
 */
export function silhouetteScore(vectors: readonly Float32Array[], assignment: Int32Array, k: number, options: SilhouetteOptions = {}): number {
    return silhouetteEstimate(vectors, assignment, k, options).mean;
}

/** The mean silhouette over the (sampled) vectors and the standard error of that mean. */
export function silhouetteEstimate(vectors: readonly Float32Array[], assignment: Int32Array, k: number, { sampleSize = 1000, seed = 0 }: SilhouetteOptions = {}): { mean: number; standardError: number } {
    if (k < 2) return { mean: 0, standardError: 0 };
    let indices = vectors.map((_, i) => i);
    if (indices.length > sampleSize) indices = createRng(seed).shuffle(indices).slice(0, sampleSize);
    const sizes = clusterSizes(Int32Array.from(indices, (i) => assignment[i]!), k);
    const scores = indices.map((i) => {
        const own = assignment[i]!;
        if (sizes[own]! < 2) return 0;
        const distanceSums = new Array<number>(k).fill(0);
        for (const j of indices) if (j !== i) distanceSums[assignment[j]!]! += 1 - dot(vectors[i]!, vectors[j]!);
        const a = distanceSums[own]! / (sizes[own]! - 1);
        let b = Infinity;
        for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, distanceSums[c]! / sizes[c]!);
        if (b === Infinity) return 0;
        const spread = Math.max(a, b);
        return spread > 0 ? (b - a) / spread : 0;
    });
    const n = scores.length;
    const mean = scores.reduce((sum, x) => sum + x, 0) / n;
    const variance = n < 2 ? 0 : scores.reduce((sum, x) => sum + (x - mean) ** 2, 0) / (n - 1);
    return { mean, standardError: Math.sqrt(variance / n) };
}

export interface ClusterCountChoice {
    k: number;
    result: KMeansResult;
    silhouette: number;
    /** every K tried, with its silhouette and that estimate's standard error */
    candidates: { k: number; silhouette: number; standardError: number }[];
}

/**
 * `--clusters auto`: k-means for each K in [minK, maxK], then the smallest K whose silhouette is within
 * one standard error of the best one's. Silhouettes of neighbouring K often differ by less than the
 * sampling noise of their estimate; fewer clusters then mean larger ones, each adapter trained on more items.
 */
export function chooseClusterCount(vectors: readonly Float32Array[], { minK, maxK, seed, restarts }: { minK: number; maxK: number; seed: number; restarts?: number }): ClusterCountChoice {
    const upper = Math.min(maxK, vectors.length - 1);
    if (upper < minK) throw new RangeError(`choosing K in [${minK}, ${maxK}] needs more than ${minK} vectors, got ${vectors.length}`);
    const tried: { k: number; result: KMeansResult; silhouette: number; standardError: number }[] = [];
    for (let k = Math.max(2, minK); k <= upper; k++) {
        const result = kMeans(vectors, { k, seed, restarts });
        const { mean, standardError } = silhouetteEstimate(vectors, result.assignment, k, { seed });
        tried.push({ k, result, silhouette: mean, standardError });
    }
    const chosen = tried[oneStandardErrorChoice(tried)]!;
    return { k: chosen.k, result: chosen.result, silhouette: chosen.silhouette, candidates: tried.map(({ k, silhouette, standardError }) => ({ k, silhouette, standardError })) };
}

/** Index of the first candidate (the smallest K, in order) whose silhouette is within one standard error of the best. */
export function oneStandardErrorChoice(candidates: readonly { silhouette: number; standardError: number }[]): number {
    const best = candidates.reduce((a, b) => (b.silhouette > a.silhouette ? b : a));
    return candidates.findIndex((c) => c.silhouette >= best.silhouette - best.standardError);
}
