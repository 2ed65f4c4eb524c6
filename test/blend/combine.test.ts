import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import type { AdapterFactors, LoraMatrixFactors } from "../../src/blend/adapterFactors.js";
import { concatAdapters } from "../../src/blend/combine/concat.js";
import { compressFactors } from "../../src/blend/combine/svd.js";
import { createRng } from "../../src/data/random.js";

const rng = createRng(9);

function randomFactors(baseName: string, rank: number, inDim: number, outDim: number, scale: number): LoraMatrixFactors {
    const random = (n: number) => Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
    return { baseName, rank, inDim, outDim, a: random(rank * inDim), b: random(outDim * rank), scale };
}

/** ΔW = scale·B·A, formed densely (tests only): [out][in]. */
function denseDelta({ rank, inDim, outDim, a, b, scale }: LoraMatrixFactors): Matrix {
    const delta = new Matrix(outDim, inDim);
    for (let o = 0; o < outDim; o++) {
        for (let i = 0; i < inDim; i++) {
            let sum = 0;
            for (let k = 0; k < rank; k++) sum += b[o * rank + k]! * a[k * inDim + i]!;
            delta.set(o, i, scale * sum);
        }
    }
    return delta;
}

const frobenius = (m: Matrix) => m.norm("frobenius");

describe("concat", () => {
    it("is exactly Σ wᵢ·sᵢ·Bᵢ·Aᵢ, per adapted weight, with rank Σrᵢ and zero-weight adapters left out", () => {
        const adapter = (rank: number, scale: number, names: string[]): AdapterFactors => ({
            path: "x.gguf", alpha: 0, matrices: names.map((name) => randomFactors(name, rank, 10, 7, scale))
        });
        const adapters = [adapter(3, 2, ["q", "v"]), adapter(2, 0.5, ["q"]), adapter(4, 1, ["v"])];
        const weights = [0.7, -1.2, 0];
        const blended = concatAdapters(adapters.map((a, i) => ({ adapter: a, weight: weights[i]! })));
        expect(blended.map((m) => [m.baseName, m.rank, m.scale])).toEqual([["q", 5, 1], ["v", 3, 1]]);
        const expectedQ = denseDelta(adapters[0]!.matrices[0]!).mul(0.7).add(denseDelta(adapters[1]!.matrices[0]!).mul(-1.2));
        expect(frobenius(denseDelta(blended[0]!).sub(expectedQ))).toBeLessThan(1e-5);
        const expectedV = denseDelta(adapters[0]!.matrices[1]!).mul(0.7);
        expect(frobenius(denseDelta(blended[1]!).sub(expectedV))).toBeLessThan(1e-5);
    });

    it("refuses adapters of different shapes for the same weight", () => {
        const a: AdapterFactors = { path: "a.gguf", alpha: 0, matrices: [randomFactors("q", 2, 10, 7, 1)] };
        const b: AdapterFactors = { path: "b.gguf", alpha: 0, matrices: [randomFactors("q", 2, 12, 7, 1)] };
        expect(() => concatAdapters([{ adapter: a, weight: 1 }, { adapter: b, weight: 1 }])).toThrow(/b\.gguf: q is \[7, 12\]/);
    });
});

describe.each([
    ["through QR of the factors (R < in, out)", 9, 20, 12],
    ["on ΔW itself (R > min(in, out))", 8, 6, 10]
])("svd re-compression %s", (_, stacked, inDim, outDim) => {
    const factors = randomFactors("w", stacked, inDim, outDim, 0.8);
    const delta = denseDelta(factors);
    const sigma = new SingularValueDecomposition(delta, { autoTranspose: true }).diagonal;
    const fullRank = Math.min(stacked, inDim, outDim);

    it("has the optimal error at every rank, falling monotonically to 0 at full rank", () => {
        const errors: number[] = [];
        for (let rank = 1; rank <= fullRank; rank++) {
            const compressed = compressFactors(factors, rank);
            expect(compressed.rank).toBe(rank);
            expect(compressed.scale).toBe(1);
            const error = frobenius(denseDelta(compressed).sub(delta));
            const optimal = Math.sqrt(sigma.slice(rank).reduce((s, v) => s + v * v, 0)); // Eckart–Young
            expect(error).toBeCloseTo(optimal, 4);
            errors.push(error);
        }
        for (let i = 1; i < errors.length; i++) expect(errors[i]!).toBeLessThan(errors[i - 1]!);
        expect(errors.at(-1)!).toBeLessThan(1e-4 * frobenius(delta));
    });

    it("never returns a rank above min(R, in, out)", () => {
        expect(compressFactors(factors, 1000).rank).toBe(fullRank);
    });
});
