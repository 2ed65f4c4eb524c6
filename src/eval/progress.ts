import { performance } from "node:perf_hooks";
import type { EvalOptions } from "./types.js";

/** The kinds of work an eval does, each with its own cost. */
export type WorkKind = "embedding" | "lossEvaluation" | "blend" | "deviceItem" | "serverItem";

/** How much of each kind of work a run (or a part of it) does: texts embedded, loss evaluations, blends, items scored. */
export type Work = Partial<Record<WorkKind, number>>;

/**
 * Milliseconds per unit of each kind, so that the bar moves with time and its ETA is honest: a lorahub loss
 * evaluation costs as much as 17 items scored on the device. Measured on the embedded default (`crayon eval`,
 * threads 1, one run on a busy 2-core machine; only the ratios matter) as each stage's wall time, from the
 * stages `onProgress` reports, over its units: 476 texts embedded in 39.3 s, 120 lorahub evaluations in 96.2 s,
 * 12 blends in 0.47 s, 3280 items on the device in 153.9 s (methods, oracle adapters, out-of-scope queries),
 * 412 items on the server in 277.9 s. The server scores on its own core while the device works, so the two
 * advance the bar together.
 */
export const WORK_MILLISECONDS: Record<WorkKind, number> = {
    embedding: 83,
    lossEvaluation: 800,
    blend: 40,
    deviceItem: 47,
    serverItem: 670
};

/** The time-weighted size of some work, in milliseconds of the embedded default. */
export function workCost(work: Work): number {
    return Object.entries(work).reduce((sum, [kind, units]) => sum + WORK_MILLISECONDS[kind as WorkKind] * units, 0);
}

/** Sums pieces of work kind by kind. */
export function addWork(...pieces: Work[]): Work {
    const total: Work = {};
    for (const piece of pieces) for (const [kind, units] of Object.entries(piece) as [WorkKind, number][]) total[kind] = (total[kind] ?? 0) + units;
    return total;
}

/** Counts the run's work, weighted by cost, against the plan's total and reports each step with the current stage. */
export class ProgressCounter {
    private done = 0;
    private current = "loading";
    private readonly total: number;

    constructor(total: Work, private readonly onProgress: EvalOptions["onProgress"]) {
        this.total = workCost(total);
    }

    stage(name: string): void {
        this.current = name;
        this.report();
    }

    advance(kind: WorkKind, units = 1): void {
        this.done += WORK_MILLISECONDS[kind] * units;
        this.report();
    }

    /** Work a resumed run takes from the stopped one instead of doing it. */
    skip(work: Work): void {
        this.done += workCost(work);
        this.report();
    }

    private report(): void {
        this.onProgress?.({ stage: this.current, done: Math.min(Math.round(this.done), this.total), total: this.total });
    }
}

/** Wall-clock seconds per stage, accumulated between `end` calls. */
export class StageClock {
    readonly stages: Record<string, number> = {};
    private last = performance.now();

    end(name: string): void {
        const now = performance.now();
        this.stages[name] = (this.stages[name] ?? 0) + (now - this.last) / 1000;
        this.last = now;
    }
}
