import { describe, expect, it } from "vitest";
import {
    accuracyAt, areaUnderCurve, averagePerformanceGapRecovered, callsToCloseGap, meanCurve, routingCurve, summarizeCurve, type RoutedQuery
} from "../../src/eval/routingCurve.js";
import { SWEPT_POLICIES } from "../../src/eval/types.js";

/** Ten queries: the device is right on the confident half, the server on all but the last. */
const queries: RoutedQuery[] = Array.from({ length: 10 }, (_, i) => ({
    signals: { confidence: (i + 1) / 11, scope: ((i * 3) % 10) / 10 },
    deviceCorrect: i >= 5,
    serverCorrect: i !== 9
}));

describe("routing curve", () => {
    it.each(SWEPT_POLICIES)("%s: runs from device-only to server-only with rising shares", (policy) => {
        const curve = routingCurve(policy, queries);
        expect(curve[0]).toEqual({ serverShare: 0, accuracy: 0.5 });
        expect(curve.at(-1)).toEqual({ serverShare: 1, accuracy: 0.9 });
        for (let i = 1; i < curve.length; i++) expect(curve[i]!.serverShare).toBeGreaterThan(curve[i - 1]!.serverShare);
        const auc = areaUnderCurve(curve);
        expect(auc).toBeGreaterThanOrEqual(Math.min(...curve.map((p) => p.accuracy)));
        expect(auc).toBeLessThanOrEqual(Math.max(...curve.map((p) => p.accuracy)));
    });

    it("confidence routing sends the least confident first: here exactly the device's mistakes", () => {
        const curve = routingCurve("confidence", queries);
        expect(curve).toHaveLength(11);
        expect(accuracyAt(curve, 0.5)).toBeCloseTo(1, 12); // the five wrong ones went to the server, which gets them right
        expect(callsToCloseGap(curve)).toBeCloseTo(0.2, 12); // 0.5 + 0.5·0.4 = 0.7 is reached after two calls
    });

    it("ties in the signal cannot be split: the realised shares skip", () => {
        const tied: RoutedQuery[] = queries.map((q, i) => ({ ...q, signals: { confidence: i < 4 ? 0.3 : 0.9 } }));
        expect(routingCurve("confidence", tied).map((p) => p.serverShare)).toEqual([0, 0.4, 1]);
    });
});

describe("curve numbers", () => {
    const curve = [{ serverShare: 0, accuracy: 0.4 }, { serverShare: 0.5, accuracy: 0.8 }, { serverShare: 1, accuracy: 0.8 }];

    it("AUC is the trapezoid area over [0, 1]", () => {
        expect(areaUnderCurve(curve)).toBeCloseTo(0.25 * 1.2 + 0.5 * 0.8, 12);
    });

    it("reads accuracy linearly between points and exactly on them", () => {
        expect(accuracyAt(curve, 0.25)).toBeCloseTo(0.6, 12);
        expect(accuracyAt(curve, 0.5)).toBe(0.8);
        expect(accuracyAt(curve, 0)).toBe(0.4);
    });

    it("APGR is the AUC's share of the gap; without a gap there is none", () => {
        expect(averagePerformanceGapRecovered(0.7, 0.4, 0.8)).toBeCloseTo(0.75, 12);
        expect(averagePerformanceGapRecovered(0.5, 0.5, 0.5)).toBeNull();
    });

    it("CPT(50%) is the first point reaching half the gap, not an interpolation", () => {
        expect(callsToCloseGap(curve)).toBe(0.5);
        expect(callsToCloseGap([{ serverShare: 0, accuracy: 0.9 }, { serverShare: 1, accuracy: 0.5 }])).toBe(0);
    });

    it("the mean curve's AUC is the mean of the AUCs", () => {
        const other = [{ serverShare: 0, accuracy: 0.2 }, { serverShare: 0.3, accuracy: 0.5 }, { serverShare: 1, accuracy: 0.6 }];
        const mean = meanCurve([curve, other]);
        expect(mean.map((p) => p.serverShare)).toEqual([0, 0.3, 0.5, 1]);
        expect(areaUnderCurve(mean)).toBeCloseTo((areaUnderCurve(curve) + areaUnderCurve(other)) / 2, 12);
        expect(summarizeCurve(mean).atShares.map((p) => p.serverShare)).toEqual([0.1, 0.2, 0.3]);
    });
});
