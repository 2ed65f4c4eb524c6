import { describe, expect, it } from "vitest";
import { pairedDifference } from "../../src/eval/pairedDifference.js";

const pattern = (n: number, right: (i: number) => boolean) => Array.from({ length: n }, (_, i) => right(i));

describe("paired difference of two methods' accuracy", () => {
    it("is exactly zero, interval included, when the methods answer alike", () => {
        const answers = [pattern(100, (i) => i % 3 === 0), pattern(50, (i) => i % 2 === 0)];
        expect(pairedDifference(answers, answers, { seed: 1 })).toEqual({ difference: 0, low: 0, high: 0 });
    });

    it("macro-averages over tasks and brackets the difference", () => {
        // task 1: a right on 30 more items of 100; task 2: a right on 10 fewer of 100
        const a = [pattern(100, (i) => i < 60), pattern(100, (i) => i < 20)];
        const b = [pattern(100, (i) => i < 30), pattern(100, (i) => i < 30)];
        const result = pairedDifference(a, b, { seed: 1 });
        expect(result.difference).toBeCloseTo((0.3 - 0.1) / 2, 12);
        expect(result.low).toBeLessThan(result.difference);
        expect(result.high).toBeGreaterThan(result.difference);
        expect(result.low).toBeGreaterThan(0); // 40 disagreements in favour of a against 10
        expect(pairedDifference(a, b, { seed: 1 })).toEqual(result);
    });

    it("gives a wide interval for a small difference from few disagreements", () => {
        const a = [pattern(100, (i) => i < 31)];
        const b = [pattern(100, (i) => i < 30)];
        const { low, high } = pairedDifference(a, b, { seed: 2 });
        expect(low).toBeLessThanOrEqual(0);
        expect(high).toBeGreaterThan(0);
    });

    it("refuses methods that answered different items", () => {
        expect(() => pairedDifference([[true]], [[true, false]], { seed: 1 })).toThrow(/same items/);
    });
});
