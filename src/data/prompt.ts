import type { QaItem } from "./item.js";

/**
 * How a model's answer to an item is read. `letter`: the probability of each option's letter after the
 * lettered prompt (MMLU's way). `cloze`: each option's text as the continuation of the question, without
 * the option list (lm-evaluation-harness's way for ARC, PIQA, HellaSwag…), which a small model can do as
 * soon as it has read the facts, long before it learns to bind letters to options.
 */
export type ScoringMode = "letter" | "cloze";
export const SCORING_MODES: readonly ScoringMode[] = ["letter", "cloze"];

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

/**
 * The text of an item a model reads before its answer, as it is scored: the lettered prompt, or the cloze
 * context. It is what an item is embedded as, so pool items, user examples and queries are compared in
 * the form the model was taught.
 */
export function promptText(item: Pick<QaItem, "question" | "choices" | "context" | "scoring">): string {
    return item.scoring === "cloze" ? formatClozeContext(item) : formatPrompt(item);
}

/** The context an option continues under cloze scoring: context (if any), question, "Answer:". */
export function formatClozeContext(item: Pick<QaItem, "question" | "context">): string {
    return [...(item.context === undefined ? [] : [item.context]), item.question, "Answer:"].join("\n");
}

/**
 * Whether cloze scoring scores the end of sequence after each option: when one option's text is a prefix
 * of another's ("7" and "73"), or the shorter one would win on the shared text alone.
 */
export function clozeScoresEndOfSequence(choices: readonly string[]): boolean {
    return choices.some((a, i) => choices.some((b, j) => i !== j && b.length > a.length && b.startsWith(a)));
}

/** An option as the continuation of its cloze context: a space, then the option's text. */
export function clozeContinuation(option: string): string {
    return ` ${option}`;
}
