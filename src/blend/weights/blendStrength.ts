import { CrayonError } from "../../errors.js";
import type { FewShotLoss } from "./lorahubWeights.js";

/**
 * The strengths `auto` tries, s·w for the method's weights w. A fixed, coarse grid on purpose: k examples
 * measure the few-shot loss too noisily to tell strengths a few hundredths apart, and a continuous search
 * over them would fit that noise; five points cost five contexts over the k examples, and both ends are
 * on the grid, so the choice is never worse on the examples than the base model (0) or the method's own
 * blend (1).
 */
export const STRENGTH_GRID = [0, 0.25, 0.5, 0.75, 1] as const;

/** A blend's strength: a fixed scale s ≥ 0 of the method's weights, or `auto` to choose s from the examples. */
export type BlendStrength = number | "auto";

export interface StrengthChoice {
    /** the scale applied to the method's weights; 1 = the method unchanged, 0 = the base model */
    strength: number;
    /** auto: the few-shot loss of the examples at each grid strength, in grid order, nats */
    losses?: { strength: number; loss: number }[];
}

/** A fixed strength must be a finite number ≥ 0 (s > 1 amplifies the blend). */
export function checkStrength(strength: number): number {
    if (!(Number.isFinite(strength) && strength >= 0)) throw new CrayonError(`--strength must be auto or a number ≥ 0, found ${strength}`);
    return strength;
}

/**
 * The grid strength with the lowest few-shot loss of s·w on the user's examples: the objective LoraHub
 * minimises, here only along the direction the method chose. Equal losses go to the larger s, so the method's
 * blend is kept unless the examples say it is too strong.
 */
export async function searchStrength(weights: readonly number[], fewShotLoss: FewShotLoss): Promise<StrengthChoice> {
    const losses: { strength: number; loss: number }[] = [];
    let best: { strength: number; loss: number } | undefined;
    for (const strength of STRENGTH_GRID) {
        const loss = await fewShotLoss(scaleWeights(weights, strength));
        if (Number.isNaN(loss)) throw new CrayonError(`the few-shot loss at strength ${strength} is not a number; the examples cannot be scored with this pool`);
        losses.push({ strength, loss });
        if (best === undefined || loss <= best.loss) best = { strength, loss };
    }
    return { strength: best!.strength, losses };
}

/** Every weight times `strength`. */
export function scaleWeights(weights: readonly number[], strength: number): number[] {
    return weights.map((w) => w * strength);
}
