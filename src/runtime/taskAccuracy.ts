import type { QaItem } from "../data/item.js";
import type { ItemScorer } from "./scoring.js";

/** A model's option-letter accuracy on one set of items, next to the accuracy of guessing. */
export interface TaskAccuracy {
    task: string;
    items: number;
    accuracy: number; // share of items whose most probable option is the gold one, 0–1
    chance: number; // mean of 1 / options over the items, 0–1
    meanConfidence: number; // mean probability of the chosen option, 0–1
}

export async function taskAccuracy(task: string, items: readonly QaItem[], scorer: ItemScorer): Promise<TaskAccuracy> {
    const scores = await scorer.scoreAll(items);
    const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
    return {
        task,
        items: items.length,
        accuracy: mean(scores.map((s, i) => (s.choice === items[i]!.answer ? 1 : 0))),
        chance: mean(items.map((item) => 1 / item.choices.length)),
        meanConfidence: mean(scores.map((s) => s.confidence))
    };
}

/** Rows of disjoint item sets as one: each field is a mean over items, so the pooled one is the item-weighted mean. */
export function pooledAccuracy(task: string, rows: readonly TaskAccuracy[]): TaskAccuracy {
    const items = rows.reduce((n, row) => n + row.items, 0);
    const mean = (key: "accuracy" | "chance" | "meanConfidence"): number => rows.reduce((sum, row) => sum + row.items * row[key], 0) / Math.max(1, items);
    return { task, items, accuracy: mean("accuracy"), chance: mean("chance"), meanConfidence: mean("meanConfidence") };
}
