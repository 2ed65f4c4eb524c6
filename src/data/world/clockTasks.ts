import { nearNumbers, others, range, type WorldTaskDefinition } from "./question.js";

/** Calendar and unit skills, all phrased `Clock: …`. */
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
/** [asked unit, given unit, how many of the first make one of the second] */
const UNITS: [string, string, number][] = [
    ["minutes", "hours", 60],
    ["seconds", "minutes", 60],
    ["hours", "days", 24],
    ["days", "weeks", 7],
    ["months", "years", 12]
];

const mod = (n: number, m: number): number => ((n % m) + m) % m;

function dayShift(task: string, word: string, sign: 1 | -1): WorldTaskDefinition {
    return {
        task,
        domain: "clock",
        questions: () =>
            DAYS.flatMap((day, d) =>
                range(2, 31).map((n) => {
                    const gold = DAYS[mod(d + sign * n, 7)]!;
                    return { question: `Clock: ${day} ${word} ${n} days?`, gold, wrong: others(DAYS, gold), optionCount: 4 };
                })
            )
    };
}

export const CLOCK_TASKS: WorldTaskDefinition[] = [
    dayShift("clock.day_plus", "plus", 1),
    dayShift("clock.day_minus", "minus", -1),
    {
        task: "clock.month_plus",
        domain: "clock",
        questions: () =>
            MONTHS.flatMap((month, m) =>
                range(1, 24).map((n) => {
                    const gold = MONTHS[mod(m + n, 12)]!;
                    return { question: `Clock: ${month} plus ${n} months?`, gold, wrong: others(MONTHS, gold), optionCount: 4 };
                })
            )
    },
    {
        task: "clock.convert",
        domain: "clock",
        questions: () =>
            UNITS.flatMap(([small, big, factor]) =>
                range(2, 30).map((n) => ({
                    question: `Clock: ${small} in ${n} ${big}?`,
                    gold: String(n * factor),
                    wrong: nearNumbers(n * factor, [-factor, factor, 2 * factor, -1, 1]),
                    optionCount: 4
                }))
            )
    }
];
