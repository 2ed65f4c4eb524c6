/** Small dense-vector helpers for embeddings and centroids (plain Float32Array, no tensors). */

export function dot(a: Float32Array, b: Float32Array): number {
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
    return sum;
}

/** A copy scaled to unit length; a zero vector stays zero (it has no direction to keep). */
export function l2Normalize(vector: ArrayLike<number>): Float32Array {
    const out = Float32Array.from(vector);
    const norm = Math.sqrt(dot(out, out));
    if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
    return out;
}

/** The normalised mean direction of some unit vectors: a spherical k-means centroid. */
export function meanDirection(vectors: readonly Float32Array[], dimension: number): Float32Array {
    const sum = new Float32Array(dimension);
    for (const v of vectors) for (let i = 0; i < dimension; i++) sum[i]! += v[i]!;
    return l2Normalize(sum);
}
