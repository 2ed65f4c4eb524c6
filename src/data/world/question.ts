import type { Rng } from "../random.js";
import type { WorldFacts } from "./facts.js";

/** One distinct question of a world task, before its options are drawn. */
export interface QuestionSpec {
    question: string;
    gold: string;
    /** Candidate wrong options (distinct, none equal to gold); `optionCount - 1` of them are drawn per item. */
    wrong: string[];
    /** How many options the item shows, 2–5. */
    optionCount: number;
}

/** A task of the world: its name (`domain.skill`) and every distinct question it can ask. */
export interface WorldTaskDefinition {
    task: string;
    domain: string;
    /** All distinct questions (or a fixed-size sample of a huge space), in a seeded order. */
    questions(facts: WorldFacts, rng: Rng): QuestionSpec[];
}

/** Numbers near `gold` that a careless solver would give (off by one, two, ten…), positive and distinct. */
export function nearNumbers(gold: number, offsets: readonly number[]): string[] {
    const out = new Set<string>();
    for (const offset of offsets) {
        const value = gold + offset;
        if (value >= 0 && value !== gold) out.add(String(value));
    }
    return [...out];
}

/** The other values of a small set, e.g. every colour but the gold one. */
export function others(values: readonly string[], gold: string): string[] {
    return values.filter((value) => value !== gold);
}

/** Up to `limit` questions with distinct text from a random maker (for spaces too big to list). */
export function sampleDistinct(rng: Rng, limit: number, make: (rng: Rng) => QuestionSpec): QuestionSpec[] {
    const seen = new Set<string>();
    const out: QuestionSpec[] = [];
    for (let attempt = 0; out.length < limit && attempt < limit * 20; attempt++) {
        const spec = make(rng);
        if (seen.has(spec.question)) continue;
        seen.add(spec.question);
        out.push(spec);
    }
    return out;
}
