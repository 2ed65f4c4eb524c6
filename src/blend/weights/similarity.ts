import { CrayonError } from "../../errors.js";
import { dot, l2Normalize, meanDirection } from "../../pool/vectors.js";

/**
 * The user's task as one direction in embedding space: the mean of the L2-normalised example embeddings,
 * normalised again. Its dot product with a centroid is then a true cosine. (The mean of the per-example
 * cosines is the same dot product before the final normalisation, i.e. these cosines times |mean| ≤ 1:
 * the same ranking, only a softer softmax. Normalising keeps the temperature's meaning independent of how
 * much the examples agree with one another.)
 */
export function taskEmbedding(exampleEmbeddings: readonly ArrayLike<number>[]): Float32Array {
    if (exampleEmbeddings.length === 0) throw new CrayonError("no example embeddings to blend from");
    const dimension = exampleEmbeddings[0]!.length;
    for (const embedding of exampleEmbeddings) {
        if (embedding.length !== dimension) throw new CrayonError(`example embeddings differ in length: ${embedding.length} and ${dimension}`);
    }
    return meanDirection(exampleEmbeddings.map(l2Normalize), dimension);
}

/** Cosine of `task` with each centroid ([K][dimension]); a zero centroid has similarity 0. */
export function centroidSimilarities(task: ArrayLike<number>, centroids: readonly ArrayLike<number>[]): number[] {
    const unit = l2Normalize(task);
    return centroids.map((centroid, k) => {
        if (centroid.length !== unit.length) {
            throw new CrayonError(`centroid ${k} has dimension ${centroid.length} but the example embeddings have ${unit.length}; was the pool built with another embedder?`);
        }
        return dot(unit, l2Normalize(centroid));
    });
}
