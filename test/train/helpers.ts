import * as tf from "@tensorflow/tfjs";

/** Largest absolute difference relative to the largest reference magnitude. */
export function maxRelativeError(reference: ArrayLike<number>, actual: ArrayLike<number>): number {
    if (reference.length !== actual.length) throw new Error(`length ${actual.length} ≠ reference ${reference.length}`);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < reference.length; i++) {
        diff = Math.max(diff, Math.abs(reference[i]! - actual[i]!));
        scale = Math.max(scale, Math.abs(reference[i]!));
    }
    return diff / (scale || 1);
}

/** Deterministic values in [-1, 1) so both backends can build identical inputs from plain arrays. */
export function seededValues(count: number, seed: number): Float32Array {
    const out = new Float32Array(count);
    let state = seed >>> 0 || 1;
    for (let i = 0; i < count; i++) {
        state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
        out[i] = state / 2 ** 31 - 1;
    }
    return out;
}

/** Runs `compute` on the named backend and returns its results as plain arrays (no tensor escapes). */
export async function onBackend(name: string, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
    if (tf.getBackend() !== name) await tf.setBackend(name);
    const outs = tf.tidy(compute);
    const values = outs.map((t) => t.dataSync() as Float32Array);
    tf.dispose(outs);
    return values;
}
