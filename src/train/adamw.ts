import * as tf from "@tensorflow/tfjs";
import { learningRateAt, type LearningRateSchedule } from "./schedule.js";

export interface AdamWConfig {
    schedule: LearningRateSchedule;
    beta1: number; // default 0.9
    beta2: number; // default 0.999
    epsilon: number; // default 1e-8
    /** decoupled decay per unit learning rate, applied to matrices only (not to norm gains); default 0 */
    weightDecay: number;
    /** clip the global gradient L2 norm to this; null = no clipping; default 1 */
    maxGradNorm: number | null;
}

export const ADAMW_DEFAULTS: Omit<AdamWConfig, "schedule"> = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, maxGradNorm: 1 };

/** Everything needed to continue a run bit for bit. */
export interface AdamWState {
    step: number; // optimizer steps taken
    moments: { name: string; m: Float32Array; v: Float32Array }[]; // one per variable, in order
}

export interface AdamWStepReport {
    step: number;
    learningRate: number;
    gradNorm: number; // global L2 norm before clipping
}

/**
 * AdamW (Loshchilov & Hutter) with bias correction, as PyTorch's torch.optim.AdamW:
 *   p ← p·(1 − lr·λ) − lr · m̂ / (√v̂ + ε).
 * The moments live in JavaScript memory as Float32Arrays: they never take wasm heap, serialise
 * exactly, and the update is the same arithmetic on every backend.
 */
export class AdamW {
    private readonly config: AdamWConfig;
    private readonly m: Float32Array[];
    private readonly v: Float32Array[];
    private stepCount = 0;

    constructor(readonly variables: tf.Variable[], config: Partial<AdamWConfig> & { schedule: LearningRateSchedule }) {
        this.config = { ...ADAMW_DEFAULTS, ...config };
        this.m = variables.map((p) => new Float32Array(p.size));
        this.v = variables.map((p) => new Float32Array(p.size));
    }

    get step(): number {
        return this.stepCount;
    }

    /** Applies one update from gradients given in the order of `variables` (each flattened). */
    apply(gradients: Float32Array[]): AdamWStepReport {
        if (gradients.length !== this.variables.length) {
            throw new Error(`AdamW: ${gradients.length} gradients for ${this.variables.length} variables`);
        }
        const { beta1, beta2, epsilon, weightDecay, maxGradNorm, schedule } = this.config;
        const gradNorm = globalNorm(gradients);
        const clip = maxGradNorm !== null && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
        const step = ++this.stepCount;
        const learningRate = learningRateAt(schedule, step);
        const correction1 = 1 - beta1 ** step;
        const correction2 = 1 - beta2 ** step;
        this.variables.forEach((variable, i) => {
            const g = gradients[i]!;
            const m = this.m[i]!;
            const v = this.v[i]!;
            const p = variable.dataSync() as Float32Array; // a copy: safe to update in place
            const decay = variable.rank >= 2 ? 1 - learningRate * weightDecay : 1;
            for (let j = 0; j < p.length; j++) {
                const gj = g[j]! * clip;
                m[j] = beta1 * m[j]! + (1 - beta1) * gj;
                v[j] = beta2 * v[j]! + (1 - beta2) * gj * gj;
                const update = m[j]! / correction1 / (Math.sqrt(v[j]! / correction2) + epsilon);
                p[j] = p[j]! * decay - learningRate * update;
            }
            tf.tidy(() => variable.assign(tf.tensor(p, variable.shape, "float32"))); // the variable keeps its own reference
        });
        return { step, learningRate, gradNorm };
    }

    /** A deep copy of the optimizer state. */
    state(): AdamWState {
        return {
            step: this.stepCount,
            moments: this.variables.map((p, i) => ({ name: p.name, m: this.m[i]!.slice(), v: this.v[i]!.slice() }))
        };
    }

    restore(state: AdamWState): void {
        if (state.moments.length !== this.variables.length) {
            throw new Error(`optimizer state has ${state.moments.length} variables, the model ${this.variables.length}`);
        }
        state.moments.forEach((saved, i) => {
            if (saved.m.length !== this.m[i]!.length || saved.v.length !== this.v[i]!.length) {
                throw new Error(`optimizer state for ${saved.name} has ${saved.m.length} values, the variable ${this.m[i]!.length}`);
            }
            this.m[i]!.set(saved.m);
            this.v[i]!.set(saved.v);
        });
        this.stepCount = state.step;
    }
}

export function globalNorm(gradients: Float32Array[]): number {
    let sumOfSquares = 0;
    for (const g of gradients) for (let j = 0; j < g.length; j++) sumOfSquares += g[j]! * g[j]!;
    return Math.sqrt(sumOfSquares);
}
