import type { QaItem } from "../data/item.js";
import type { ItemScorer, OptionScores } from "./scoring.js";

/** A model's accuracy on one set of items, next to the accuracy of guessing. */
export interface TaskAccuracy {
    task: string;
    items: number;
    accuracy: number; // share of items whose chosen option is the gold one (cloze: acc_norm), 0–1
    /** cloze-scored items only: share whose option of highest summed log-likelihood is the gold one (acc), 0–1; null without cloze items */
    rawAccuracy: number | null;
    chance: number; // mean of 1 / options over the items, 0–1
    meanConfidence: number; // mean probability of the chosen option, 0–1
}

const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);

/** The row of a task from its items' scores (in the same order). */
export function accuracyOfScores(task: string, items: readonly QaItem[], scores: readonly OptionScores[]): TaskAccuracy {
    const cloze = scores.flatMap((s, i) => (s.cloze === undefined ? [] : [s.cloze.rawChoice === items[i]!.answer ? 1 : 0]));
    return {
        task,
        items: items.length,
        accuracy: mean(scores.map((s, i) => (s.choice === items[i]!.answer ? 1 : 0))),
        rawAccuracy: cloze.length === 0 ? null : mean(cloze),
        chance: mean(items.map((item) => 1 / item.choices.length)),
        meanConfidence: mean(scores.map((s) => s.confidence))
    };
}

export async function taskAccuracy(task: string, items: readonly QaItem[], scorer: ItemScorer): Promise<TaskAccuracy> {
    return accuracyOfScores(task, items, await scorer.scoreAll(items));
}

/** Rows of disjoint item sets as one: each field is a mean over items, so the pooled one is the item-weighted mean. */
export function pooledAccuracy(task: string, rows: readonly TaskAccuracy[]): TaskAccuracy {
    const items = rows.reduce((n, row) => n + row.items, 0);
    const mean = (key: "accuracy" | "chance" | "meanConfidence"): number => rows.reduce((sum, row) => sum + row.items * row[key], 0) / Math.max(1, items);
    const clozeRows = rows.filter((row) => row.rawAccuracy !== null);
    const clozeItems = clozeRows.reduce((n, row) => n + row.items, 0);
    const rawAccuracy = clozeRows.length === 0 ? null : clozeRows.reduce((sum, row) => sum + row.items * row.rawAccuracy!, 0) / clozeItems;
    return { task, items, accuracy: mean("accuracy"), rawAccuracy, chance: mean("chance"), meanConfidence: mean("meanConfidence") };
}
