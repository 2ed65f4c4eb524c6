import { describe, expect, it } from "vitest";
import { answerContinuation, clozeContinuation, clozeScoresEndOfSequence, formatClozeContext, formatPrompt, OPTION_LETTERS } from "../../src/data/prompt.js";

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

    it("gives cloze scoring the question without its options, each option continuing it after a space", () => {
        expect(formatClozeContext({ question: "Rank: smaller of 7 and 73?" })).toBe("Rank: smaller of 7 and 73?\nAnswer:");
        expect(formatClozeContext({ context: "Passage.", question: "is it?" })).toBe("Passage.\nis it?\nAnswer:");
        expect(clozeContinuation("73")).toBe(" 73");
        expect(clozeContinuation("fruit")).toBe(" fruit");
    });

    it("scores the end of sequence under cloze exactly when one option is a prefix of a longer one", () => {
        expect(clozeScoresEndOfSequence(["7", "73"])).toBe(true);
        expect(clozeScoresEndOfSequence(["73", "5", "7"])).toBe(true);
        expect(clozeScoresEndOfSequence(["seeds", "fish", "fruit"])).toBe(false);
        expect(clozeScoresEndOfSequence(["73", "37"])).toBe(false);
        expect(clozeScoresEndOfSequence(["yes", "yes"])).toBe(false);
    });
});
