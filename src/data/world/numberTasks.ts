import type { Rng } from "../random.js";
import { sampleDistinct, type QuestionSpec, type WorldTaskDefinition } from "./question.js";

/** Comparisons of numbers, phrased `Rank: …`: a rule a small model learns from examples. */
function distinctNumbers(rng: Rng, count: number): number[] {
    const values = new Set<number>();
    while (values.size < count) values.add(1 + rng.int(99));
    return [...values];
}

function rank(task: string, words: string, pickBig: boolean, listed: (rng: Rng) => number): WorldTaskDefinition {
    return {
        task,
        domain: "rank",
        questions: (_facts, rng) =>
            sampleDistinct(rng, 2000, (r): QuestionSpec => {
                const values = distinctNumbers(r, listed(r));
                const gold = pickBig ? Math.max(...values) : Math.min(...values);
                const shown = values.length === 2 ? `${values[0]} and ${values[1]}` : values.join(", ");
                return { question: `Rank: ${words} of ${shown}?`, gold: String(gold), wrong: values.filter((v) => v !== gold).map(String), optionCount: values.length };
            })
    };
}

export const NUMBER_TASKS: WorldTaskDefinition[] = [
    rank("rank.max2", "bigger", true, () => 2),
    rank("rank.min2", "smaller", false, () => 2),
    rank("rank.max", "biggest", true, (r) => 3 + r.int(2)),
    rank("rank.min", "smallest", false, (r) => 3 + r.int(2))
];
