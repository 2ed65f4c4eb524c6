import { CrayonError } from "../../errors.js";
import type { AdapterFactors, LoraMatrixFactors } from "../adapterFactors.js";

/** One adapter of the blend with its blend weight wᵢ (the scale it would get on a llama.cpp context). */
export interface WeightedAdapter {
    adapter: AdapterFactors;
    weight: number;
}

/**
 * The exact blend ΔW = Σ wᵢ·sᵢ·Bᵢ·Aᵢ (sᵢ = αᵢ/rᵢ) of every adapted weight as one factor pair of rank Σrᵢ:
 * A stacks the Aᵢ as rows, B places the wᵢ·sᵢ·Bᵢ side by side as columns, so B·A is the sum term by term.
 * The result has scale 1 (it is written with α = 0). Adapters with weight 0 are left out.
 */
export function concatAdapters(weighted: readonly WeightedAdapter[]): LoraMatrixFactors[] {
    const parts = new Map<string, { factors: LoraMatrixFactors; weight: number }[]>();
    for (const { adapter, weight } of weighted) {
        if (weight === 0) continue;
        for (const factors of adapter.matrices) {
            const list = parts.get(factors.baseName) ?? [];
            if (list.length > 0 && (list[0]!.factors.inDim !== factors.inDim || list[0]!.factors.outDim !== factors.outDim)) {
                throw new CrayonError(`${adapter.path}: ${factors.baseName} is [${factors.outDim}, ${factors.inDim}] but other adapters of the pool have [${list[0]!.factors.outDim}, ${list[0]!.factors.inDim}]; the pool mixes base models`);
            }
            list.push({ factors, weight });
            parts.set(factors.baseName, list);
        }
    }
    return [...parts].map(([baseName, list]) => concatMatrix(baseName, list));
}

function concatMatrix(baseName: string, list: { factors: LoraMatrixFactors; weight: number }[]): LoraMatrixFactors {
    const { inDim, outDim } = list[0]!.factors;
    const rank = list.reduce((sum, { factors }) => sum + factors.rank, 0);
    const a = new Float32Array(rank * inDim); // [Σr, in]
    const b = new Float32Array(outDim * rank); // [out, Σr]
    let column = 0;
    for (const { factors, weight } of list) {
        const r = factors.rank;
        a.set(factors.a, column * inDim);
        const factor = weight * factors.scale;
        for (let row = 0; row < outDim; row++) {
            const from = row * r;
            const to = row * rank + column;
            for (let j = 0; j < r; j++) b[to + j] = factor * factors.b[from + j]!;
        }
        column += r;
    }
    return { baseName, rank, inDim, outDim, a, b, scale: 1 };
}
