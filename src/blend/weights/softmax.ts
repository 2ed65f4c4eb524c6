import { CrayonError } from "../../errors.js";

/** softmax(scores / τ), computed stably; τ → 0 approaches the one-hot of the best score, τ → ∞ uniform. */
export function softmaxWeights(scores: readonly number[], temperature: number): number[] {
    if (!(temperature > 0 && Number.isFinite(temperature))) throw new CrayonError(`temperature must be a positive number, got ${temperature}`);
    const top = Math.max(...scores);
    const exps = scores.map((score) => Math.exp((score - top) / temperature));
    const total = exps.reduce((sum, e) => sum + e, 0);
    return exps.map((e) => e / total);
}

/** Indices of the k largest scores, best first; ties keep the lower index first. */
export function topIndices(scores: readonly number[], k: number): number[] {
    return scores
        .map((score, index) => ({ score, index }))
        .sort((x, y) => y.score - x.score || x.index - y.index)
        .slice(0, k)
        .map(({ index }) => index);
}

/** Keeps the k largest weights, zeroes the rest and renormalises to sum 1. */
export function keepTopK(weights: readonly number[], k: number): number[] {
    checkK(k, weights.length);
    const kept = new Set(topIndices(weights, k));
    const total = weights.reduce((sum, w, i) => (kept.has(i) ? sum + w : sum), 0);
    return weights.map((w, i) => (kept.has(i) ? w / total : 0));
}

export function checkK(k: number, count: number): void {
    if (!Number.isInteger(k) || k < 1 || k > count) throw new CrayonError(`--top-k must be an integer from 1 to the pool's ${count} adapters, found ${k}`);
}
