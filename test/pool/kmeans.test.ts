import { describe, expect, it } from "vitest";
import { createRng } from "../../src/data/random.js";
import { describeClusters, itemDomain } from "../../src/pool/clusterReport.js";
import { clusterSizes, kMeans } from "../../src/pool/kmeans.js";
import { chooseClusterCount, oneStandardErrorChoice, silhouetteEstimate, silhouetteScore } from "../../src/pool/silhouette.js";
import { l2Normalize } from "../../src/pool/vectors.js";

/** `perCluster` unit vectors around each of k random directions, with labels. */
function blobs(k: number, perCluster: number, dimension: number, noise: number, seed: number): { vectors: Float32Array[]; labels: number[] } {
    const rng = createRng(seed);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const centers = Array.from({ length: k }, () => l2Normalize(Array.from({ length: dimension }, gaussian)));
    const vectors: Float32Array[] = [];
    const labels: number[] = [];
    centers.forEach((center, label) => {
        for (let i = 0; i < perCluster; i++) {
            vectors.push(l2Normalize(Array.from(center, (x) => x + noise * gaussian())));
            labels.push(label);
        }
    });
    return { vectors, labels };
}

/** Share of vectors in their cluster's majority label. */
function purity(assignment: Int32Array, labels: number[], k: number): number {
    let agreeing = 0;
    for (let c = 0; c < k; c++) {
        const counts = new Map<number, number>();
        labels.forEach((label, i) => assignment[i] === c && counts.set(label, (counts.get(label) ?? 0) + 1));
        agreeing += Math.max(0, ...counts.values());
    }
    return agreeing / labels.length;
}

describe("k-means on the unit sphere", () => {
    it("recovers well-separated clusters exactly for several seeds", () => {
        for (const seed of [1, 2, 3, 4, 5]) {
            const { vectors, labels } = blobs(5, 30, 16, 0.05, seed);
            const result = kMeans(vectors, { k: 5, seed });
            expect(purity(result.assignment, labels, 5)).toBe(1);
            expect(clusterSizes(result.assignment, 5).sort()).toEqual([30, 30, 30, 30, 30]);
            for (const centroid of result.centroids) expect(Math.hypot(...centroid)).toBeCloseTo(1, 5);
        }
    });

    it("is deterministic for a seed", () => {
        const { vectors } = blobs(4, 25, 8, 0.4, 9);
        const a = kMeans(vectors, { k: 4, seed: 7 });
        const b = kMeans(vectors, { k: 4, seed: 7 });
        expect(b.assignment).toEqual(a.assignment);
        expect(b.inertia).toBe(a.inertia);
    });

    it("never returns an empty cluster: one is re-seeded with the farthest point", () => {
        // two distinct points, many copies, and K = 3: seeding must repeat a point, so one cluster starts empty
        const vectors = [...Array.from({ length: 6 }, () => l2Normalize([1, 0, 0])), ...Array.from({ length: 4 }, () => l2Normalize([0, 1, 0]))];
        for (const seed of [1, 2, 3]) {
            const result = kMeans(vectors, { k: 3, seed, restarts: 1 });
            expect(clusterSizes(result.assignment, 3).every((size) => size > 0)).toBe(true);
            expect(result.inertia).toBeCloseTo(0, 6);
        }
    });

    it("silhouette is highest at the true K and auto picks it", () => {
        for (const [trueK, seed] of [[3, 11], [6, 12]] as const) {
            const { vectors, labels } = blobs(trueK, 20, 12, 0.08, seed);
            expect(silhouetteScore(vectors, Int32Array.from(labels), trueK)).toBeGreaterThan(0.5);
            const choice = chooseClusterCount(vectors, { minK: 2, maxK: 9, seed });
            expect(choice.k).toBe(trueK);
            expect(choice.candidates.map((c) => c.k)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
            expect(purity(choice.result.assignment, labels, trueK)).toBe(1);
        }
    });

    it("auto takes the smallest K within one standard error of the best silhouette", () => {
        const at = (silhouette: number, standardError = 0.005) => ({ silhouette, standardError });
        expect(oneStandardErrorChoice([at(0.3), at(0.413), at(0.41), at(0.416)])).toBe(1); // 0.413 ≥ 0.416 − 0.005
        expect(oneStandardErrorChoice([at(0.3), at(0.41), at(0.416)])).toBe(2);
        expect(oneStandardErrorChoice([at(0.5, 0), at(0.5, 0)])).toBe(0);
        // the standard error is that of the mean over the scored vectors
        const { vectors, labels } = blobs(3, 20, 12, 0.08, 5);
        const estimate = silhouetteEstimate(vectors, Int32Array.from(labels), 3);
        expect(estimate.mean).toBe(silhouetteScore(vectors, Int32Array.from(labels), 3));
        expect(estimate.standardError).toBeGreaterThan(0);
        expect(estimate.standardError).toBeLessThan(0.05);
    });

    it("reports sizes, tasks and purity against the task's domain", () => {
        const items = ["rank.max2", "rank.min2", "zoo.far.diet", "abstract_algebra"].map((task, i) => ({
            id: String(i), source: i === 3 ? "mmlu" : "world", task, question: "q", choices: ["a", "b"], answer: 0
        }));
        expect(items.map(itemDomain)).toEqual(["rank", "rank", "zoo", "mmlu"]);
        const report = describeClusters(items, Int32Array.from([0, 0, 1, 1]), 2);
        expect(report.clusters[0]).toMatchObject({ size: 2, majorityDomain: "rank", majorityShare: 1, tasks: { "rank.max2": 1, "rank.min2": 1 } });
        expect(report.clusters[1]!.sources).toEqual({ mmlu: 1, world: 1 });
        expect(report.purity).toBe(0.75);
    });
});
