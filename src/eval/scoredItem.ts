import type { QaItem } from "../data/item.js";
import type { OptionScores } from "../runtime/scoring.js";

/** A model's answer to one test item, as the report keeps it. */
export interface ScoredItem {
    id: string;
    /** index of the chosen option */
    choice: number;
    /** probability of the chosen option, 0…1 */
    confidence: number;
    correct: boolean;
}

export function scoredItem(item: QaItem, scores: OptionScores): ScoredItem {
    return { id: item.id, choice: scores.choice, confidence: scores.confidence, correct: scores.choice === item.answer };
}

/** Share of correct answers, 0…1. */
export function accuracyOf(items: readonly { correct: boolean }[]): number {
    if (items.length === 0) throw new RangeError("accuracy of no items");
    return items.filter((item) => item.correct).length / items.length;
}
