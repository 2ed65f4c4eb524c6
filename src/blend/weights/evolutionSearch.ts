import { createRng, type Rng } from "../../data/random.js";

export interface EvolutionSearchOptions {
    /** starting point (also the first point evaluated) */
    start: readonly number[];
    /** initial step size (standard deviation of the mutations) */
    sigma: number;
    /** most objective evaluations, the start included */
    budget: number;
    /** box constraints applied to every candidate */
    lower: number;
    upper: number;
    seed: number;
    /** candidates per generation; default 4 + ⌊3 ln n⌋ */
    populationSize?: number;
}

export interface EvolutionSearchResult {
    best: number[];
    bestValue: number;
    evaluations: number;
    /** best value after each evaluation, for plots and tests */
    history: number[];
}

/**
 * Minimises a noisy, gradient-free objective with a (μ/μ_w, λ) evolution strategy and cumulative step-size
 * adaptation — CMA-ES without the covariance update, which a few dozen evaluations cannot estimate anyway.
 * Each generation samples λ candidates around the mean, moves the mean to the weighted average of the μ best,
 * and lengthens σ when successive steps point the same way, shortens it when they cancel out.
 */
export async function evolutionSearch(objective: (x: number[]) => Promise<number>, options: EvolutionSearchOptions): Promise<EvolutionSearchResult> {
    const n = options.start.length;
    const lambda = options.populationSize ?? 4 + Math.floor(3 * Math.log(n));
    const mu = Math.floor(lambda / 2);
    const rawWeights = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
    const weightSum = rawWeights.reduce((s, w) => s + w, 0);
    const recombination = rawWeights.map((w) => w / weightSum);
    const muEff = 1 / recombination.reduce((s, w) => s + w * w, 0);
    const cSigma = (muEff + 2) / (n + muEff + 5);
    const dSigma = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (n + 1)) - 1) + cSigma;
    const expectedNorm = Math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n)); // E‖N(0, I)‖

    const rng = createRng(options.seed);
    const clip = (v: number) => Math.min(options.upper, Math.max(options.lower, v));
    let mean = options.start.map(clip);
    let sigma = options.sigma;
    const path = new Array<number>(n).fill(0);
    const history: number[] = [];
    let best = mean.slice();
    let bestValue = await objective(best);
    history.push(bestValue);

    while (history.length < options.budget) {
        const generation: { x: number[]; value: number }[] = [];
        for (let k = 0; k < lambda && history.length < options.budget; k++) {
            const x = mean.map((m) => clip(m + sigma * gaussian(rng)));
            const value = await objective(x);
            generation.push({ x, value });
            if (value < bestValue) {
                bestValue = value;
                best = x;
            }
            history.push(bestValue);
        }
        if (generation.length < mu) break; // the budget ran out mid-generation
        generation.sort((p, q) => p.value - q.value);
        const next = mean.map((_, i) => generation.slice(0, mu).reduce((s, c, j) => s + recombination[j]! * c.x[i]!, 0));
        const step = next.map((v, i) => (v - mean[i]!) / sigma); // the mean's move in units of σ
        const pathScale = Math.sqrt(cSigma * (2 - cSigma) * muEff);
        for (let i = 0; i < n; i++) path[i] = (1 - cSigma) * path[i]! + pathScale * step[i]!;
        sigma *= Math.exp((cSigma / dSigma) * (Math.hypot(...path) / expectedNorm - 1));
        mean = next;
    }
    return { best, bestValue, evaluations: history.length, history };
}

/** Standard normal sample (Box–Muller). */
function gaussian(rng: Rng): number {
    const u = 1 - rng.next(); // (0, 1]
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}
