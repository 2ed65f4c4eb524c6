import cliProgress from "cli-progress";

import type { TrainingTick } from "../train/trainingTick.js";

/**
 * How every training bar draws, on stderr: in place on a terminal, a line every 10 s in a log (CI, pipes);
 * the ETA averaged over the last 50 updates.
 */
export const TRAINING_BAR_OPTIONS: cliProgress.Options = {
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    etaBuffer: 50,
    formatTime: formatEta,
    hideCursor: true,
    stream: process.stderr
};

/**
 * A live progress bar for a training run: step, loss, tokens/s, ETA. On a terminal it redraws in
 * place; in a log (CI, pipes) it prints a line every few seconds instead.
 */
export class TrainingProgress {
    private readonly bar: cliProgress.SingleBar;

    constructor(label: string, totalSteps: number, startStep = 0) {
        this.bar = new cliProgress.SingleBar(
            {
                ...TRAINING_BAR_OPTIONS,
                format: `${label} {bar} {value}/{total} steps | loss {loss} | {tokensPerSecond} tok/s | ETA {eta_formatted}`
            },
            cliProgress.Presets.shades_classic
        );
        this.bar.start(totalSteps, startStep, { loss: "-", tokensPerSecond: "-" });
    }

    update({ step, loss, tokensPerSecond }: TrainingTick): void {
        this.bar.update(step, { loss: loss.toFixed(4), tokensPerSecond: tokensPerSecond.toFixed(0) });
    }

    stop(): void {
        this.bar.stop();
    }
}

/**
 * The ETA as cli-progress's bars show it, except that an ETA not yet known reads "-": the library's own
 * formatter pads its "NULL" and "INF" placeholders to two characters ("LLs", "NFs").
 */
export function formatEta(seconds: number | string): string {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) return "-";
    const s = Math.round(seconds);
    const two = (v: number): string => String(v).padStart(2, "0");
    if (s >= 3600) return `${Math.floor(s / 3600)}h${two(Math.floor((s % 3600) / 60))}m`;
    if (s >= 60) return `${Math.floor(s / 60)}m${two(s % 60)}s`;
    return `${s}s`;
}
