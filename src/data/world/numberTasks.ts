import type { Rng } from "../random.js";
import { nearNumbers, range, sampleDistinct, type QuestionSpec, type WorldTaskDefinition } from "./question.js";

/**
 * Skills on numbers, in three domains with their own surface forms: `Calc:` (arithmetic),
 * `Rank:` (comparisons) and `Series:` (continuing a sequence; out of scope of the pool).
 */
const NEAR = [-10, -2, -1, 1, 2, 10];

function arith(task: string, pairs: [number, number][], symbol: string, solve: (a: number, b: number) => number, optionCount: number): WorldTaskDefinition {
    return {
        task,
        domain: "arith",
        questions: () =>
            pairs.map(([a, b]) => {
                const gold = solve(a, b);
                return { question: `Calc: ${a} ${symbol} ${b} = ?`, gold: String(gold), wrong: nearNumbers(gold, NEAR), optionCount };
            })
    };
}

const grid = (as: number[], bs: number[], keep: (a: number, b: number) => boolean = () => true): [number, number][] =>
    as.flatMap((a) => bs.filter((b) => keep(a, b)).map((b): [number, number] => [a, b]));

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

/** Arithmetic progressions: four terms shown, one of them asked for (`slot`), rising or falling. */
function series(task: string, slot: number, falling: boolean): WorldTaskDefinition {
    return {
        task,
        domain: "series",
        questions: () =>
            grid(range(1, 30), range(2, 9)).map(([start, step]) => {
                const first = falling ? start + 3 * step + 20 : start;
                const terms = range(0, 3).map((i) => first + (falling ? -i : i) * step);
                const gold = terms[slot]!;
                const shown = terms.map((t, i) => (i === slot ? "?" : String(t))).join(", ");
                return { question: `Series: ${shown}`, gold: String(gold), wrong: nearNumbers(gold, [-step, -1, 1, step, 2 * step]), optionCount: 4 };
            })
    };
}

export const NUMBER_TASKS: WorldTaskDefinition[] = [
    arith("arith.add", grid(range(2, 79), range(2, 79)), "+", (a, b) => a + b, 4),
    arith("arith.sub", grid(range(10, 99), range(2, 98), (a, b) => b < a), "-", (a, b) => a - b, 4),
    arith("arith.mul", grid(range(2, 12), range(2, 12)), "*", (a, b) => a * b, 4),
    arith("arith.div", grid(range(2, 12), range(2, 9)).map(([q, b]): [number, number] => [q * b, b]), "/", (a, b) => a / b, 3),
    rank("rank.max2", "bigger", true, () => 2),
    rank("rank.min2", "smaller", false, () => 2),
    rank("rank.max", "biggest", true, (r) => 3 + r.int(2)),
    rank("rank.min", "smallest", false, (r) => 3 + r.int(2)),
    series("series.next", 3, false),
    series("series.first", 0, false),
    series("series.gap", 1, false),
    series("series.down", 3, true)
];
