import { evolutionSearch } from "./evolutionSearch.js";

/** Few-shot loss of the blend with these weights (one per pool adapter): mean cross-entropy, nats. */
export type FewShotLoss = (weights: number[]) => Promise<number>;

export interface LorahubOptions {
    /** most loss evaluations, the start included; default 40 (LoraHub's default) */
    budget?: number;
    /** L1 coefficient λ on the mean |wᵢ|; default 0.05 as in LoraHub */
    l1?: number;
    /** each weight is kept in [-bound, bound]; default 1.5 as in LoraHub */
    bound?: number;
    /** initial step size; default 0.5 */
    sigma?: number;
    /** default 0 */
    seed?: number;
    /** where the search starts; default uniform 1/K, so the result is never worse than the uniform blend */
    start?: number[];
}

export interface LorahubResult {
    weights: number[];
    /** few-shot loss of `weights` (without the L1 term), nats */
    loss: number;
    /** few-shot loss at the start point, nats */
    startLoss: number;
    evaluations: number;
}

/**
 * LoraHub's weight search: minimise few-shot loss + λ·mean|wᵢ| without gradients. Weights may be negative
 * and need not sum to 1, as in LoraHub. LoraHub starts from w = 0 (the base model); starting from the
 * uniform blend instead means the search can only improve on it.
 */
export async function lorahubWeights(fewShotLoss: FewShotLoss, adapterCount: number, options: LorahubOptions = {}): Promise<LorahubResult> {
    const { budget = 40, l1 = 0.05, bound = 1.5, sigma = 0.5, seed = 0 } = options;
    const start = options.start ?? new Array<number>(adapterCount).fill(1 / adapterCount);
    if (start.length !== adapterCount) throw new RangeError(`start has ${start.length} weights for ${adapterCount} adapters`);
    if (!(Number.isInteger(budget) && budget >= 1)) throw new RangeError(`the evaluation budget must be a positive integer, got ${budget}`);
    const losses = new Map<number[], number>();
    const objective = async (weights: number[]): Promise<number> => {
        const loss = await fewShotLoss(weights);
        losses.set(weights, loss);
        return loss + (l1 * weights.reduce((s, w) => s + Math.abs(w), 0)) / adapterCount;
    };
    const result = await evolutionSearch(objective, { start, sigma, budget, lower: -bound, upper: bound, seed });
    const [startLoss] = losses.values();
    return { weights: result.best, loss: losses.get(result.best)!, startLoss: startLoss!, evaluations: result.evaluations };
}
