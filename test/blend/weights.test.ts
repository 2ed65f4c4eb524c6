import { describe, expect, it } from "vitest";
import { blendWeights } from "../../src/blend/weights/blendWeights.js";
import { crayonWeights } from "../../src/blend/weights/crayonWeights.js";
import { evolutionSearch } from "../../src/blend/weights/evolutionSearch.js";
import { lorahubWeights } from "../../src/blend/weights/lorahubWeights.js";
import { centroidSimilarities, taskEmbedding } from "../../src/blend/weights/similarity.js";
import { keepTopK, softmaxWeights } from "../../src/blend/weights/softmax.js";
import { topKWeights } from "../../src/blend/weights/topKWeights.js";
import { uniformWeights } from "../../src/blend/weights/uniformWeights.js";

const sum = (values: readonly number[]) => values.reduce((s, v) => s + v, 0);

describe("similarity to centroids", () => {
    it("is the cosine of the normalised mean of the normalised examples", () => {
        const task = taskEmbedding([[3, 0], [0, 0.5]]); // directions (1,0) and (0,1) count equally
        expect(task[0]).toBeCloseTo(Math.SQRT1_2, 6);
        expect(task[1]).toBeCloseTo(Math.SQRT1_2, 6);
        const similarities = centroidSimilarities(task, [[1, 0], [0, 2], [-1, -1], [0, 0]]);
        expect(similarities[0]).toBeCloseTo(Math.SQRT1_2, 6);
        expect(similarities[1]).toBeCloseTo(Math.SQRT1_2, 6);
        expect(similarities[2]).toBeCloseTo(-1, 6);
        expect(similarities[3]).toBe(0);
    });

    it("refuses centroids of another dimension", () => {
        expect(() => centroidSimilarities([1, 0], [[1, 0, 0]])).toThrow(/another embedder/);
    });
});

describe("softmax weights", () => {
    const scores = [0.9, 0.8, 0.5, 0.85];

    it("sum to 1 and keep the order of the scores", () => {
        const weights = softmaxWeights(scores, 0.1);
        expect(sum(weights)).toBeCloseTo(1, 12);
        expect(weights[0]!).toBeGreaterThan(weights[3]!);
        expect(weights[3]!).toBeGreaterThan(weights[1]!);
        expect(weights[1]!).toBeGreaterThan(weights[2]!);
        expect(weights[0]! / weights[1]!).toBeCloseTo(Math.exp(0.1 / 0.1), 9);
    });

    it("sharpen as the temperature falls and flatten as it rises", () => {
        expect(softmaxWeights(scores, 1e-4)[0]).toBeCloseTo(1, 9);
        const flat = softmaxWeights(scores, 1e4);
        for (const w of flat) expect(w).toBeCloseTo(0.25, 4);
        expect(Math.max(...softmaxWeights(scores, 0.05))).toBeGreaterThan(Math.max(...softmaxWeights(scores, 0.5)));
    });

    it("refuse a temperature that is not positive", () => {
        expect(() => softmaxWeights(scores, 0)).toThrow(/temperature/);
        expect(() => crayonWeights(scores, { temperature: -1 })).toThrow(/temperature/);
    });

    it("keep the top k, renormalised", () => {
        const weights = crayonWeights(scores, { temperature: 0.1, topK: 2 });
        expect(weights[1]).toBe(0);
        expect(weights[2]).toBe(0);
        expect(sum(weights)).toBeCloseTo(1, 12);
        const full = softmaxWeights(scores, 0.1);
        expect(weights[0]! / weights[3]!).toBeCloseTo(full[0]! / full[3]!, 9);
        expect(keepTopK([0.2, 0.5, 0.3], 3)).toEqual([0.2, 0.5, 0.3]);
        expect(() => keepTopK([0.5, 0.5], 3)).toThrow(/top-k/);
    });
});

describe("hard choices", () => {
    it("top1 picks the adapter of the nearest centroid", () => {
        const centroids = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
        const task = taskEmbedding([[0.1, 0.9, 0.2], [0, 1, 0.1]]);
        expect(topKWeights(centroidSimilarities(task, centroids), 1)).toEqual([0, 1, 0]);
    });

    it("topk weighs the k nearest equally; uniform weighs all", () => {
        expect(topKWeights([0.1, 0.9, 0.5, 0.7], 2)).toEqual([0, 0.5, 0, 0.5]);
        expect(uniformWeights(4)).toEqual([0.25, 0.25, 0.25, 0.25]);
    });

    it("dispatch by method name", async () => {
        const similarities = [0.2, 0.6, 0.4, 0.1];
        expect((await blendWeights("top1", { adapterCount: 4, similarities })).weights).toEqual([0, 1, 0, 0]);
        expect((await blendWeights("topk", { adapterCount: 4, similarities })).weights.filter((w) => w > 0)).toHaveLength(3);
        await expect(blendWeights("crayon", { adapterCount: 4 })).rejects.toThrow(/similarities/);
        await expect(blendWeights("lorahub", { adapterCount: 4 })).rejects.toThrow(/few-shot loss/);
    });
});

describe("gradient-free search", () => {
    it("finds the minimum of a shifted quadratic within its budget", async () => {
        const target = [0.7, -0.4, 1.1, 0.2, -0.9];
        let calls = 0;
        const result = await evolutionSearch(async (x) => {
            calls++;
            return sum(x.map((v, i) => (v - target[i]!) ** 2));
        }, { start: [0, 0, 0, 0, 0], sigma: 0.5, budget: 400, lower: -2, upper: 2, seed: 1 });
        expect(calls).toBe(400);
        expect(result.evaluations).toBe(400);
        expect(result.bestValue).toBeLessThan(1e-3);
        for (const [i, v] of result.best.entries()) expect(v).toBeCloseTo(target[i]!, 1);
        expect(result.history.every((v, i) => i === 0 || v <= result.history[i - 1]!)).toBe(true);
    });

    it("lorahub lowers a constructed few-shot loss below the uniform blend and respects its budget", async () => {
        // 4 adapters; the examples' loss is lowest for the blend (1.2, 0, 0, 0.3)
        const best = [1.2, 0, 0, 0.3];
        let calls = 0;
        const fewShotLoss = async (w: number[]) => {
            calls++;
            return 0.5 + sum(w.map((v, i) => (v - best[i]!) ** 2));
        };
        const uniformLoss = await fewShotLoss(uniformWeights(4));
        calls = 0;
        const result = await lorahubWeights(fewShotLoss, 4, { budget: 30, seed: 3 });
        expect(calls).toBe(30);
        expect(result.evaluations).toBe(30);
        expect(result.startLoss).toBeCloseTo(uniformLoss, 12);
        expect(result.loss).toBeLessThan(uniformLoss - 0.2);
        expect(result.weights.every((w) => Math.abs(w) <= 1.5)).toBe(true);
    });
});
