import { createRng } from "../data/random.js";

export interface PairedDifference {
    /** macro mean over tasks of accuracy(a) − accuracy(b), 0–1 */
    difference: number;
    /** 2.5% and 97.5% percentiles of the bootstrap distribution of `difference` */
    low: number;
    high: number;
}

/**
 * How sure a difference between two methods is, given that both answered the same test items: each
 * resample redraws every task's items with replacement (the same draw for both methods), so what the
 * methods have in common cancels out and only their disagreements spread the interval. `a` and `b` are
 * per task, per item: was the answer right.
 */
export function pairedDifference(a: readonly (readonly boolean[])[], b: readonly (readonly boolean[])[], { resamples = 2000, seed }: { resamples?: number; seed: number | string }): PairedDifference {
    if (a.length !== b.length || a.some((task, t) => task.length !== b[t]!.length)) throw new RangeError("paired methods must answer the same items");
    // per task and item: +1, 0 or −1
    const deltas = a.map((task, t) => task.map((right, i) => Number(right) - Number(b[t]![i]!)));
    const macroMean = (pick: (task: number[]) => number) => deltas.reduce((sum, task) => sum + pick(task), 0) / deltas.length;
    const taskMean = (task: number[]) => (task.length === 0 ? 0 : task.reduce((s, d) => s + d, 0) / task.length);
    const rng = createRng(seed);
    const resample = (task: number[]) => task.map(() => task[rng.int(task.length)]!);
    const draws = Array.from({ length: resamples }, () => macroMean((task) => taskMean(resample(task)))).sort((x, y) => x - y);
    const percentile = (p: number) => draws[Math.min(draws.length - 1, Math.floor(p * draws.length))]!;
    return { difference: macroMean(taskMean), low: percentile(0.025), high: percentile(0.975) };
}
