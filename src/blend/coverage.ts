/**
 * How well a pool covers the task a user's examples show: the best cosine of the task embedding with a
 * cluster centroid, and how spread the blend weights are. A blend can only move the model towards tasks
 * the pool was trained on; examples far from every cluster get a near-arbitrary mixture that will not help.
 */

/**
 * Below this best similarity the pool is taken not to cover the task. Measured with the previous shipped
 * pool (16 shots, seed 0): its six user tasks reached 0.86–0.95, the five out-of-scope domains 0.57–0.72.
 */
export const COVERAGE_SIMILARITY = 0.8;

/**
 * Above this share of the largest possible entropy (ln K) the weights name no cluster either: examples of
 * a task no cluster holds sit about as near to several. Measured with the shipped pool (K = 4, crayon's
 * default temperature, 16 shots, seed 0): its four user tasks 0.00–0.08 nats (at most 6% of ln 4) at best
 * similarities 0.84–0.97, the out-of-scope forge 0.42 nats (30%) at 0.81, which the similarity alone passed.
 */
export const COVERAGE_ENTROPY_SHARE = 0.2;

export interface BlendCoverage {
    /** the most similar adapter and its cosine similarity */
    bestAdapter: string;
    bestSimilarity: number;
    /** Shannon entropy of the blend weights, nats: 0 = one adapter, ln K = uniform */
    entropy: number;
    /** ln K, the entropy of uniform weights */
    maxEntropy: number;
    covered: boolean;
}

export function blendCoverage(adapterIds: readonly string[], similarities: readonly number[], weights: readonly number[]): BlendCoverage {
    let best = 0;
    for (let i = 1; i < similarities.length; i++) if (similarities[i]! > similarities[best]!) best = i;
    const entropy = weights.reduce((sum, w) => (w > 0 ? sum - w * Math.log(w) : sum), 0);
    return {
        bestAdapter: adapterIds[best]!,
        bestSimilarity: similarities[best]!,
        entropy,
        maxEntropy: Math.log(weights.length),
        covered: similarities[best]! >= COVERAGE_SIMILARITY && (weights.length < 2 || entropy <= COVERAGE_ENTROPY_SHARE * Math.log(weights.length))
    };
}

/** "coverage: best similarity 0.91 (c03), weights' entropy 0.19 of at most 2.20 nats" */
export function coverageLine(coverage: BlendCoverage): string {
    return `coverage: best similarity ${coverage.bestSimilarity.toFixed(2)} (${coverage.bestAdapter}), weights' entropy ${coverage.entropy.toFixed(2)} of at most ${coverage.maxEntropy.toFixed(2)} nats`;
}

/** The warning when the pool does not cover the task, with the numbers; undefined when it does. */
export function coverageWarning(coverage: BlendCoverage): string | undefined {
    if (coverage.covered) return undefined;
    const why = coverage.bestSimilarity < COVERAGE_SIMILARITY
        ? `their best similarity to a cluster is ${coverage.bestSimilarity.toFixed(2)} (${coverage.bestAdapter}), below ${COVERAGE_SIMILARITY}`
        : `no cluster stands out: the weights' entropy is ${coverage.entropy.toFixed(2)} of at most ${coverage.maxEntropy.toFixed(2)} nats, above ${COVERAGE_ENTROPY_SHARE * 100}% of it (best similarity ${coverage.bestSimilarity.toFixed(2)}, ${coverage.bestAdapter})`;
    return `warning: the pool does not cover these examples — ${why}; the blend will likely not help — build a pool that includes tasks like these`;
}
