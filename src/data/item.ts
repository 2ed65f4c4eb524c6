import type { ScoringMode } from "./prompt.js";

/**
 * The one shape a multiple-choice QA item has everywhere in Crayon. Loaders turn each public
 * format into it; training, scoring, clustering and chat only ever see this.
 */
export interface QaItem {
    /** Stable and unique across a benchmark, e.g. `world/arith.add/000123`, `arc-easy/Mercury_417466`. */
    id: string;
    /** The dataset the item came from: `world`, `mmlu`, `arc-easy`, `boolq`, `user`, … */
    source: string;
    /** The task inside the source: an MMLU subject, a world task such as `geo.capital`, or the dataset name. */
    task: string;
    question: string;
    /** 2 or more options; the model answers with the letter of one of them. */
    choices: string[];
    /** Index of the gold option in `choices`. */
    answer: number;
    /** A passage the question is about (BoolQ) or the situation it follows from (Social IQa). */
    context?: string;
    /** How a model's answer is read (see ScoringMode); absent means letter scoring. */
    scoring?: ScoringMode;
}

/** The items, each scored as it says or, if it says nothing (a user's examples), as `scoring`. */
export function scoredAs(items: readonly QaItem[], scoring: ScoringMode): QaItem[] {
    return items.map((item) => (item.scoring === undefined ? { ...item, scoring } : item));
}

/**
 * What makes two items "the same question" for leakage checks: the question text together with
 * its context (Social IQa repeats one question text over thousands of different situations).
 */
export function questionKey(item: QaItem): string {
    return item.context === undefined ? item.question : `${item.context}\n${item.question}`;
}
