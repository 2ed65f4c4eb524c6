import { describe, expect, it } from "vitest";
import { formatEta } from "../../src/cli/trainingProgress.js";

describe("formatEta", () => {
    it("reads '-' while cli-progress does not know the ETA yet", () => {
        expect(formatEta("NULL")).toBe("-");
        expect(formatEta("INF")).toBe("-");
        expect(formatEta(Number.NaN)).toBe("-");
    });

    it("writes seconds, minutes and hours as the bars show them", () => {
        expect(formatEta(7.4)).toBe("7s");
        expect(formatEta(65)).toBe("1m05s");
        expect(formatEta(539.7)).toBe("9m00s"); // cli-progress's own formatter writes 8m60s
        expect(formatEta(Infinity)).toBe("-");
        expect(formatEta(3 * 3600 + 4 * 60 + 59)).toBe("3h04m");
    });
});
