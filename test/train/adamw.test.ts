import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdamW, globalNorm } from "../../src/train/adamw.js";
import { constantLearningRate, learningRateAt } from "../../src/train/schedule.js";

describe("learning-rate schedule", () => {
    const schedule = { peak: 1e-3, floor: 1e-4, warmupSteps: 10, totalSteps: 110 };
    it("warms up linearly", () => {
        expect(learningRateAt(schedule, 1)).toBeCloseTo(1e-4, 12);
        expect(learningRateAt(schedule, 5)).toBeCloseTo(5e-4, 12);
        expect(learningRateAt(schedule, 10)).toBeCloseTo(1e-3, 12);
    });
    it("decays along a cosine to the floor and stays there", () => {
        expect(learningRateAt(schedule, 60)).toBeCloseTo(5.5e-4, 12); // halfway: (peak + floor) / 2
        expect(learningRateAt(schedule, 35)).toBeCloseTo(1e-4 + 9e-4 * 0.5 * (1 + Math.cos(Math.PI / 4)), 12);
        expect(learningRateAt(schedule, 110)).toBeCloseTo(1e-4, 12);
        expect(learningRateAt(schedule, 500)).toBeCloseTo(1e-4, 12);
    });
});

describe("AdamW", () => {
    beforeAll(async () => {
        await tf.setBackend("cpu");
    });
    afterAll(() => {
        tf.disposeVariables();
    });

    it("takes a first step of lr·sign(g) after decoupled decay (bias correction)", () => {
        const p = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
        const norm = tf.variable(tf.tensor1d([1, 1]));
        const optimizer = new AdamW([p, norm], { schedule: constantLearningRate(0.1), weightDecay: 0.5, maxGradNorm: null });
        const report = optimizer.apply([Float32Array.from([0.2, -0.4, 3, -1e-3]), Float32Array.from([-5, 0])]);
        expect(report).toMatchObject({ step: 1, learningRate: 0.1 });
        // p·(1 − lr·λ) − lr·g/(|g| + ε); the 1-D norm gain is not decayed; a zero gradient moves nothing.
        const expected = [1 * 0.95 - 0.1, -2 * 0.95 + 0.1, 0.5 * 0.95 - 0.1, 3 * 0.95 + 0.1 * (1e-3 / (1e-3 + 1e-8))];
        Array.from(p.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
        Array.from(norm.dataSync()).forEach((v, i) => expect(v).toBeCloseTo([1.1, 1][i]!, 6));
    });

    it("matches the textbook recurrence over several steps", () => {
        const p = tf.variable(tf.tensor1d([0.3]));
        const optimizer = new AdamW([p], { schedule: constantLearningRate(0.01), beta1: 0.8, beta2: 0.9, maxGradNorm: null });
        let m = 0;
        let v = 0;
        let value = 0.3;
        for (const [t, g] of [[1, 0.5], [2, -0.25], [3, 1.5]] as const) {
            optimizer.apply([Float32Array.from([g])]);
            m = 0.8 * m + 0.2 * g;
            v = 0.9 * v + 0.1 * g * g;
            value -= (0.01 * (m / (1 - 0.8 ** t))) / (Math.sqrt(v / (1 - 0.9 ** t)) + 1e-8);
            expect(p.dataSync()[0]).toBeCloseTo(value, 6);
        }
    });

    it("clips the global gradient norm", () => {
        const grads = [Float32Array.from([3, 0]), Float32Array.from([4])];
        expect(globalNorm(grads)).toBe(5);
        const clipped = tf.variable(tf.tensor1d([0, 0, 0]));
        const unclipped = tf.variable(tf.tensor1d([0, 0, 0]));
        // With clipping only the direction survives Adam's normalisation — so compare the second step, where
        // the moments mix a clipped and an unclipped gradient.
        const a = new AdamW([clipped], { schedule: constantLearningRate(0.1), maxGradNorm: 1 });
        const b = new AdamW([unclipped], { schedule: constantLearningRate(0.1), maxGradNorm: null });
        const big = Float32Array.from([30, 0, 40]);
        const small = Float32Array.from([0.3, 0.1, 0.4]);
        expect(a.apply([big]).gradNorm).toBeCloseTo(50, 4);
        b.apply([big]);
        a.apply([small]);
        b.apply([small]);
        expect(Array.from(clipped.dataSync())).not.toEqual(Array.from(unclipped.dataSync()));
        // clipped step 1: g = big/50 → unit gradient; replaying that by hand without clipping gives the same result
        const replay = tf.variable(tf.tensor1d([0, 0, 0]));
        const c = new AdamW([replay], { schedule: constantLearningRate(0.1), maxGradNorm: null });
        c.apply([big.map((x) => x / (50 + 1e-6))]);
        c.apply([small]);
        Array.from(replay.dataSync()).forEach((x, i) => expect(clipped.dataSync()[i]).toBeCloseTo(x, 7));
    });

    it("restores its state exactly: a resumed run continues bit for bit", () => {
        const gradient = (step: number) => [Float32Array.from({ length: 6 }, (_, i) => Math.sin(step * 7 + i))];
        const schedule = { peak: 0.05, floor: 0.001, warmupSteps: 2, totalSteps: 8 };
        const straight = tf.variable(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));
        const a = new AdamW([straight], { schedule, weightDecay: 0.1 });
        for (let s = 0; s < 6; s++) a.apply(gradient(s));

        const resumed = tf.variable(tf.tensor2d([[1, 2, 3], [4, 5, 6]]));
        const first = new AdamW([resumed], { schedule, weightDecay: 0.1 });
        for (let s = 0; s < 3; s++) first.apply(gradient(s));
        const saved = first.state();
        const savedParams = resumed.dataSync().slice();
        first.apply(gradient(99)); // diverge, then roll back
        tf.tidy(() => resumed.assign(tf.tensor2d(savedParams, [2, 3])));
        const second = new AdamW([resumed], { schedule, weightDecay: 0.1 });
        second.restore(saved);
        expect(second.step).toBe(3);
        for (let s = 3; s < 6; s++) second.apply(gradient(s));
        expect(Array.from(resumed.dataSync())).toEqual(Array.from(straight.dataSync()));
        const moments = (o: AdamW) => o.state().moments.map(({ m, v }) => ({ m, v }));
        expect(moments(second)).toEqual(moments(a));
    });
});
