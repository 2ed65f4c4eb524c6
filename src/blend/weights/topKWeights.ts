import { checkK, topIndices } from "./softmax.js";

/**
 * Equal weights 1/k on the k adapters whose centroids are most similar to the task, 0 elsewhere;
 * k = 1 is the single best adapter ("top1").
 */
export function topKWeights(similarities: readonly number[], k: number): number[] {
    checkK(k, similarities.length);
    const kept = new Set(topIndices(similarities, k));
    return similarities.map((_, i) => (kept.has(i) ? 1 / k : 0));
}
