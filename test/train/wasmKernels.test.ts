import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { setupEngine } from "../../src/train/engine/backend.js";
import { maxRelativeError, onBackend, seededValues } from "./helpers.js";

const t = (shape: number[], seed: number) => tf.tensor(seededValues(shape.reduce((a, b) => a * b, 1), seed), shape);

// Every case builds its inputs from plain arrays on the active backend, so cpu and wasm see the same data.
const cases: Record<string, () => tf.Tensor> = {
    "2-D matmul": () => tf.matMul(t([7, 5], 1), t([5, 6], 2)),
    "2-D matmul, transposeA": () => tf.matMul(t([5, 7], 1), t([5, 6], 2), true, false),
    "2-D matmul, transposeB": () => tf.matMul(t([7, 5], 1), t([6, 5], 2), false, true),
    "2-D matmul, both transposed": () => tf.matMul(t([5, 7], 1), t([6, 5], 2), true, true),
    // narrow left operands take the (op(B)ᵀ·op(A)ᵀ)ᵀ route of the replaced kernel
    "2-D matmul, transposeA, narrow left": () => tf.matMul(t([64, 4], 1), t([64, 32], 2), true, false),
    "2-D matmul, transposeB, narrow left": () => tf.matMul(t([4, 64], 1), t([32, 64], 2), false, true),
    "2-D matmul, both transposed, narrow left": () => tf.matMul(t([64, 4], 1), t([32, 64], 2), true, true),
    "batched matmul": () => tf.matMul(t([2, 3, 7, 5], 3), t([2, 3, 5, 4], 4)),
    "batched matmul, transposeB": () => tf.matMul(t([2, 3, 7, 5], 3), t([2, 3, 4, 5], 4), false, true),
    "batched matmul, transposeA": () => tf.matMul(t([3, 5, 7], 3), t([3, 5, 4], 4), true, false),
    "batched matmul, broadcast right": () => tf.matMul(t([2, 3, 7, 5], 5), t([5, 4], 6)),
    "batched matmul, broadcast left": () => tf.matMul(t([7, 5], 5), t([3, 5, 4], 6)),
    "matmul gradients": () => {
        const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.matMul(a, b, false, true))));
        const [da, db] = grads([t([2, 4, 6, 5], 7), t([2, 4, 3, 5], 8)]);
        return tf.concat([da!.flatten(), db!.flatten()]);
    },
    "strided slice": () => tf.slice(t([6, 9, 5], 9), [1, 2, 1], [3, 4, 3]),
    "contiguous slice": () => tf.slice(t([6, 9, 5], 9), [2, 0, 0], [2, 9, 5]),
    "unstack": () => tf.stack(tf.unstack(t([6, 9, 5], 10), 1), 0),
    "gather rows": () => tf.gather(t([6, 4], 15), tf.tensor1d([5, 0, 0, 3], "int32")),
    "gather along a middle axis": () => tf.gather(t([3, 6, 4], 16), tf.tensor2d([[5, 0], [2, 2]], [2, 2], "int32"), 1),
    "unsorted segment sum": () => tf.unsortedSegmentSum(t([6, 4], 11), tf.tensor1d([0, 3, 3, 1, 5, 0], "int32"), 7),
    "gather gradient": () => tf.grad((e: tf.Tensor) => tf.sum(tf.square(tf.gather(e, tf.tensor1d([1, 1, 4, 0], "int32")))))(t([6, 5], 12)),
    "one-hot as float32": () => tf.oneHot(tf.tensor1d([3, 0, 5, -1], "int32"), 6, 2.5, -0.5, "float32"),
    "identity and cast": () => tf.add(tf.clone(t([4, 3], 13)), tf.cast(t([4, 3], 14), "float32"))
};

describe("wasm training kernels match the cpu backend", () => {
    const reference = new Map<string, Float32Array>();
    beforeAll(async () => {
        for (const [name, f] of Object.entries(cases)) reference.set(name, (await onBackend("cpu", () => [f()]))[0]!);
        const info = await setupEngine();
        expect(info.backend).toBe("wasm");
    });

    for (const [name, f] of Object.entries(cases)) {
        it(name, async () => {
            const [actual] = await onBackend("wasm", () => [f()]);
            expect(maxRelativeError(reference.get(name)!, actual!)).toBeLessThan(1e-5);
        });
    }

    it("batched matmul with both operands broadcast", async () => {
        // tfjs's own cpu kernel gets this case wrong, so the reference broadcasts explicitly.
        const [expected] = await onBackend("cpu", () => [tf.matMul(tf.tile(t([2, 1, 7, 5], 5), [1, 3, 1, 1]), tf.tile(t([1, 3, 5, 4], 6), [2, 1, 1, 1]))]);
        const [actual] = await onBackend("wasm", () => [tf.matMul(t([2, 1, 7, 5], 5), t([1, 3, 5, 4], 6))]);
        expect(maxRelativeError(expected!, actual!)).toBeLessThan(1e-5);
    });

    it("does not leak tensors or heap through the replaced kernels", async () => {
        await onBackend("wasm", () => [cases["matmul gradients"]!()]);
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) await onBackend("wasm", () => Object.values(cases).map((f) => f()));
        expect(tf.memory().numTensors).toBe(before);
    });
});
