import { describe, expect, it } from "vitest";
import { answerContinuation, formatPrompt, OPTION_LETTERS } from "../../src/data/prompt.js";

describe("the prompt format", () => {
    it("lists the question, lettered options and Answer:, with the gold as a spaced letter", () => {
        const item = { question: "Calc: 2 + 3 = ?", choices: ["5", "6", "4"] };
        expect(formatPrompt(item)).toBe("Calc: 2 + 3 = ?\nA. 5\nB. 6\nC. 4\nAnswer:");
        expect(answerContinuation(0)).toBe(" A");
        expect(answerContinuation(2)).toBe(" C");
        expect(OPTION_LETTERS.slice(0, 5)).toEqual(["A", "B", "C", "D", "E"]);
    });

    it("puts a context first and refuses options it cannot letter", () => {
        expect(formatPrompt({ context: "Passage.", question: "is it?", choices: ["yes", "no"] })).toBe("Passage.\nis it?\nA. yes\nB. no\nAnswer:");
        expect(() => answerContinuation(OPTION_LETTERS.length)).toThrow(RangeError);
        expect(() => formatPrompt({ question: "q", choices: Array.from({ length: 9 }, (_, i) => String(i)) })).toThrow(RangeError);
    });
});
