/** Learning rate over optimizer steps: linear warm-up to `peak`, then cosine decay to `floor`. */
export interface LearningRateSchedule {
    peak: number; // learning rate at the end of warm-up
    floor: number; // learning rate at and after `totalSteps`
    warmupSteps: number; // steps of linear warm-up (0: start at peak)
    totalSteps: number; // optimizer steps of the whole run
}

/** Learning rate for optimizer step `step` (1-based: the first update is step 1). */
export function learningRateAt(schedule: LearningRateSchedule, step: number): number {
    const { peak, floor, warmupSteps, totalSteps } = schedule;
    if (step <= warmupSteps) return (peak * step) / warmupSteps;
    const decaySteps = Math.max(1, totalSteps - warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / decaySteps);
    return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

/** A schedule that stays at `rate` (useful for tests and benchmarks). */
export function constantLearningRate(rate: number): LearningRateSchedule {
    return { peak: rate, floor: rate, warmupSteps: 0, totalSteps: 1 };
}
