import { createRng, type Rng } from "../data/random.js";
import { dot, meanDirection } from "./vectors.js";

/*
 * Spherical k-means: the vectors are L2-normalised embeddings, the distance is cosine distance
 * 1 − x·c, and a centroid is the normalised mean of its members. On the unit sphere ‖x − c‖² = 2(1 − x·c),
 * so k-means++ seeding by squared distance is seeding by cosine distance.
 */

export interface KMeansOptions {
    k: number;
    seed: number;
    /** independent k-means++ starts; the one with the lowest inertia wins. Default 5 */
    restarts?: number;
    /** Lloyd iterations per start. Default 100 */
    maxIterations?: number;
}

export interface KMeansResult {
    centroids: Float32Array[]; // [K][dimension], unit length
    assignment: Int32Array; // [n] cluster of each vector
    /** Σ over vectors of the cosine distance 1 − x·c to their centroid */
    inertia: number;
    iterations: number;
}

export function kMeans(vectors: readonly Float32Array[], { k, seed, restarts = 5, maxIterations = 100 }: KMeansOptions): KMeansResult {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k-means needs k ≥ 1, got ${k}`);
    if (vectors.length < k) throw new RangeError(`k-means with k = ${k} needs at least ${k} vectors, got ${vectors.length}`);
    const rng = createRng(seed);
    let best: KMeansResult | undefined;
    for (let start = 0; start < restarts; start++) {
        const result = lloyd(vectors, seedCentroids(vectors, k, rng), maxIterations);
        if (best === undefined || result.inertia < best.inertia - 1e-9) best = result;
    }
    return best!;
}

/** k-means++: the first centroid uniformly, each next one with probability ∝ squared distance to the nearest chosen. */
function seedCentroids(vectors: readonly Float32Array[], k: number, rng: Rng): Float32Array[] {
    const centroids = [vectors[rng.int(vectors.length)]!.slice()];
    const nearest = vectors.map((v) => 2 * (1 - dot(v, centroids[0]!)));
    while (centroids.length < k) {
        const total = nearest.reduce((a, b) => a + Math.max(0, b), 0);
        let chosen = rng.int(vectors.length); // all points coincide with a centroid: any will do
        if (total > 0) {
            let target = rng.next() * total;
            for (let i = 0; i < vectors.length; i++) {
                target -= Math.max(0, nearest[i]!);
                if (target <= 0) {
                    chosen = i;
                    break;
                }
            }
        }
        const centroid = vectors[chosen]!.slice();
        centroids.push(centroid);
        vectors.forEach((v, i) => (nearest[i] = Math.min(nearest[i]!, 2 * (1 - dot(v, centroid)))));
    }
    return centroids;
}

function lloyd(vectors: readonly Float32Array[], centroids: Float32Array[], maxIterations: number): KMeansResult {
    const k = centroids.length;
    const dimension = vectors[0]!.length;
    const assignment = new Int32Array(vectors.length).fill(-1);
    let iterations = 0;
    for (; iterations < maxIterations; iterations++) {
        let changed = assign(vectors, centroids, assignment);
        changed = reseedEmptyClusters(vectors, centroids, assignment) || changed;
        if (!changed && iterations > 0) break;
        for (let c = 0; c < k; c++) centroids[c] = meanDirection(vectors.filter((_, i) => assignment[i] === c), dimension);
    }
    assign(vectors, centroids, assignment);
    reseedEmptyClusters(vectors, centroids, assignment);
    let inertia = 0;
    vectors.forEach((v, i) => (inertia += 1 - dot(v, centroids[assignment[i]!]!)));
    return { centroids, assignment, inertia, iterations };
}

/** Each vector to its most similar centroid (the lowest index on ties, for determinism). Returns whether anything moved. */
function assign(vectors: readonly Float32Array[], centroids: readonly Float32Array[], assignment: Int32Array): boolean {
    let changed = false;
    vectors.forEach((v, i) => {
        let best = 0;
        let bestSimilarity = -Infinity;
        centroids.forEach((c, j) => {
            const similarity = dot(v, c);
            if (similarity > bestSimilarity) {
                bestSimilarity = similarity;
                best = j;
            }
        });
        if (assignment[i] !== best) {
            assignment[i] = best;
            changed = true;
        }
    });
    return changed;
}

/**
 * An empty cluster takes the vector farthest from its own centroid (among clusters that can spare
 * one), so K clusters always come back and the worst-fitting point gets a better home.
 */
function reseedEmptyClusters(vectors: readonly Float32Array[], centroids: Float32Array[], assignment: Int32Array): boolean {
    let changed = false;
    for (let c = 0; c < centroids.length; c++) {
        const sizes = clusterSizes(assignment, centroids.length);
        if (sizes[c]! > 0) continue;
        let farthest = -1;
        let farthestDistance = -Infinity;
        vectors.forEach((v, i) => {
            const own = assignment[i]!;
            if (sizes[own]! < 2) return;
            const distance = 1 - dot(v, centroids[own]!);
            if (distance > farthestDistance) {
                farthestDistance = distance;
                farthest = i;
            }
        });
        if (farthest < 0) continue;
        assignment[farthest] = c;
        centroids[c] = vectors[farthest]!.slice();
        changed = true;
    }
    return changed;
}

/** Members per cluster: [K]. */
export function clusterSizes(assignment: Int32Array, k: number): number[] {
    const sizes = new Array<number>(k).fill(0);
    for (const c of assignment) sizes[c]!++;
    return sizes;
}
