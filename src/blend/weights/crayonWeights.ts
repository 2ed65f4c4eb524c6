import { keepTopK, softmaxWeights } from "./softmax.js";

export interface CrayonWeightOptions {
    /** softmax temperature τ over cosine similarities; default 0.05 */
    temperature?: number;
    /** keep only the k most similar adapters, renormalised; default all */
    topK?: number;
}

export const DEFAULT_TEMPERATURE = 0.05;

/**
 * Crayon's instant blend weights: softmax(cos(task, centroidᵢ) / τ), optionally cut to the top k and
 * renormalised. Cosines of one model's embeddings crowd together, so τ is small: with τ = 0.05 a cosine
 * lead of 0.05 weighs e ≈ 2.7 times more.
 */
export function crayonWeights(similarities: readonly number[], options: CrayonWeightOptions = {}): number[] {
    const weights = softmaxWeights(similarities, options.temperature ?? DEFAULT_TEMPERATURE);
    return options.topK === undefined ? weights : keepTopK(weights, options.topK);
}
