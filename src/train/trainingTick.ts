/** What a training loop reports after each step. */
export interface TrainingTick {
    step: number;
    /** mean loss of the step, nats per scored token */
    loss: number;
    /** tokens processed per second, averaged since the run (or resume) started */
    tokensPerSecond: number;
}
