import { describe, expect, it } from "vitest";
import { blendCoverage, COVERAGE_ENTROPY_SHARE, COVERAGE_SIMILARITY, coverageLine, coverageWarning } from "../../src/blend/coverage.js";

describe("blend coverage", () => {
    const ids = ["c00", "c01", "c02", "c03"];

    it("names the most similar adapter and measures the weights' entropy in nats", () => {
        const uniform = blendCoverage(ids, [0.5, 0.54, 0.3, 0.1], [0.25, 0.25, 0.25, 0.25]);
        expect(uniform).toMatchObject({ bestAdapter: "c01", bestSimilarity: 0.54, covered: false });
        expect(uniform.entropy).toBeCloseTo(Math.log(4), 12);
        expect(uniform.maxEntropy).toBeCloseTo(Math.log(4), 12);
        const oneHot = blendCoverage(ids, [0.2, 0.3, 0.95, 0.1], [0, 0, 1, 0]);
        expect(oneHot).toMatchObject({ bestAdapter: "c02", entropy: 0, covered: true });
    });

    it("warns with the numbers when the best similarity is below the threshold, or when the weights name no cluster", () => {
        const far = blendCoverage(ids, [0.5, 0.54, 0.3, 0.1], [0.25, 0.25, 0.25, 0.25]);
        expect(coverageWarning(far)).toMatch(/does not cover .* 0\.54 \(c01\), below 0\.8;/);
        expect(coverageLine(far)).toBe("coverage: best similarity 0.54 (c01), weights' entropy 1.39 of at most 1.39 nats");
        expect(coverageWarning(blendCoverage(ids, [COVERAGE_SIMILARITY, 0, 0, 0], [1, 0, 0, 0]))).toBeUndefined();
        // near enough to one cluster, but about as near to another: the weights spread
        const spread = blendCoverage(ids, [0.81, 0.8, 0.3, 0.1], [0.6, 0.4, 0, 0]);
        expect(spread.entropy).toBeGreaterThan(COVERAGE_ENTROPY_SHARE * Math.log(4));
        expect(coverageWarning(spread)).toMatch(/no cluster stands out: the weights' entropy is 0\.67 of at most 1\.39 nats, above 20% of it \(best similarity 0\.81, c00\)/);
    });
});
