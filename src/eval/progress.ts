import { performance } from "node:perf_hooks";
import type { EvalOptions } from "./types.js";

/** Counts the run's work units against the plan's total and reports each step with the current stage. */
export class ProgressCounter {
    private done = 0;
    private current = "loading";

    constructor(private readonly total: number, private readonly onProgress: EvalOptions["onProgress"]) {}

    stage(name: string): void {
        this.current = name;
        this.report();
    }

    advance(units = 1): void {
        this.done += units;
        this.report();
    }

    private report(): void {
        this.onProgress?.({ stage: this.current, done: Math.min(this.done, this.total), total: this.total });
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
