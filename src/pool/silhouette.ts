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
export function silhouetteScore(vectors: readonly Float32Array[], assignment: Int32Array, k: number, { sampleSize = 1000, seed = 0 }: SilhouetteOptions = {}): number {
    if (k < 2) return 0;
    let indices = vectors.map((_, i) => i);
    if (indices.length > sampleSize) indices = createRng(seed).shuffle(indices).slice(0, sampleSize);
    const sizes = clusterSizes(Int32Array.from(indices, (i) => assignment[i]!), k);
    let total = 0;
    for (const i of indices) {
        const own = assignment[i]!;
        if (sizes[own]! < 2) continue;
        const distanceSums = new Array<number>(k).fill(0);
        for (const j of indices) if (j !== i) distanceSums[assignment[j]!]! += 1 - dot(vectors[i]!, vectors[j]!);
        const a = distanceSums[own]! / (sizes[own]! - 1);
        let b = Infinity;
        for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, distanceSums[c]! / sizes[c]!);
        if (b === Infinity) continue;
        const spread = Math.max(a, b);
        total += spread > 0 ? (b - a) / spread : 0;
    }
    return total / indices.length;
}

export interface ClusterCountChoice {
    k: number;
    result: KMeansResult;
    silhouette: number;
    /** every K tried, with its silhouette */
    candidates: { k: number; silhouette: number }[];
}

/** `--clusters auto`: k-means for each K in [minK, maxK], keeping the K with the highest silhouette. */
export function chooseClusterCount(vectors: readonly Float32Array[], { minK, maxK, seed, restarts }: { minK: number; maxK: number; seed: number; restarts?: number }): ClusterCountChoice {
    const upper = Math.min(maxK, vectors.length - 1);
    if (upper < minK) throw new RangeError(`choosing K in [${minK}, ${maxK}] needs more than ${minK} vectors, got ${vectors.length}`);
    let best: ClusterCountChoice | undefined;
    const candidates: { k: number; silhouette: number }[] = [];
    for (let k = Math.max(2, minK); k <= upper; k++) {
        const result = kMeans(vectors, { k, seed, restarts });
        const silhouette = silhouetteScore(vectors, result.assignment, k, { seed });
        candidates.push({ k, silhouette });
        if (best === undefined || silhouette > best.silhouette + 1e-9) best = { k, result, silhouette, candidates };
    }
    return best!;
}
