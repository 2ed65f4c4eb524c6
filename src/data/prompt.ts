import type { QaItem } from "./item.js";

/** Option letters, in order; an item may have at most this many choices to be prompted. */
export const OPTION_LETTERS = ["A", "B", "C", "D", "E", "F", "G", "H"] as const;

/**
 * The prompt a model sees for an item: context (if any), question, lettered options, "Answer:".
 * Training, scoring and chat all call this, so a model is never asked in a format it was not taught.
 */
export function formatPrompt(item: Pick<QaItem, "question" | "choices" | "context">): string {
    if (item.choices.length > OPTION_LETTERS.length) {
        throw new RangeError(`an item has ${item.choices.length} choices; at most ${OPTION_LETTERS.length} can be lettered`);
    }
    const lines: string[] = [];
    if (item.context !== undefined) lines.push(item.context);
    lines.push(item.question);
    item.choices.forEach((choice, i) => lines.push(`${OPTION_LETTERS[i]}. ${choice}`));
    lines.push("Answer:");
    return lines.join("\n");
}

/** The gold continuation after "Answer:" — a space and the letter, e.g. " A". */
export function answerContinuation(index: number): string {
    const letter = OPTION_LETTERS[index];
    if (letter === undefined) throw new RangeError(`answer index ${index} has no option letter`);
    return ` ${letter}`;
}
