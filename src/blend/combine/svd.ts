import { Matrix, QrDecomposition, SingularValueDecomposition } from "ml-matrix";
import type { LoraMatrixFactors } from "../adapterFactors.js";

/**
 * The best rank-`rank` approximation (Frobenius, Eckart–Young) of ΔW = scale·B·A, again as LoRA factors.
 * With B = Q_b·R_b and Aᵀ = Q_a·R_a (thin QR), ΔW = Q_b·(scale·R_b·R_aᵀ)·Q_aᵀ, so only the small
 * [R, R] core needs an SVD and ΔW [out, in] is never formed. When R > min(in, out) the factors are no
 * smaller than ΔW itself and ΔW is decomposed directly. The singular values are split evenly between the
 * new factors (B' = U·√Σ, A' = √Σ·Vᵀ) so both stay well scaled. No matrix gets a rank above
 * min(R, in, out); at that rank the result is exact.
 */
export function compressFactors(factors: LoraMatrixFactors, rank: number): LoraMatrixFactors {
    const { rank: stacked, inDim, outDim } = factors;
    const target = Math.min(rank, stacked, inDim, outDim);
    const b = new Matrix(outDim, stacked); // [out, R]
    const at = new Matrix(inDim, stacked); // Aᵀ [in, R]
    for (let row = 0; row < outDim; row++) for (let j = 0; j < stacked; j++) b.set(row, j, factors.scale * factors.b[row * stacked + j]!);
    for (let j = 0; j < stacked; j++) for (let col = 0; col < inDim; col++) at.set(col, j, factors.a[j * inDim + col]!);

    // ΔW = leftBasis · core · rightBasisᵀ; no basis (identity) when the core is ΔW itself
    let core: Matrix;
    let leftBasis: Matrix | undefined; // Q_b [out, R]
    let rightBasis: Matrix | undefined; // Q_a [in, R]
    if (stacked <= Math.min(inDim, outDim)) {
        const qrB = new QrDecomposition(b);
        const qrA = new QrDecomposition(at);
        core = qrB.upperTriangularMatrix.mmul(qrA.upperTriangularMatrix.transpose()); // [R, R]
        leftBasis = qrB.orthogonalMatrix;
        rightBasis = qrA.orthogonalMatrix;
    } else {
        core = b.mmul(at.transpose()); // ΔW [out, in]
    }
    // Only V is computed (the left vectors cost most of the SVD): core·v_k = σ_k·u_k gives U·Σ directly.
    const svd = new SingularValueDecomposition(core, { autoTranspose: true, computeLeftSingularVectors: false });
    const sigma = svd.diagonal; // descending
    const v = svd.rightSingularVectors.subMatrix(0, core.columns - 1, 0, target - 1);
    const right = rightBasis === undefined ? v : rightBasis.mmul(v); // [in, rank] right singular vectors of ΔW
    const coreV = core.mmul(v);
    const leftScaled = leftBasis === undefined ? coreV : leftBasis.mmul(coreV); // [out, rank] left singular vectors · σ
    const a = new Float32Array(target * inDim); // [rank, in]
    const bOut = new Float32Array(outDim * target); // [out, rank]
    for (let k = 0; k < target; k++) {
        const root = Math.sqrt(Math.max(0, sigma[k]!));
        if (root === 0) continue; // ΔW has no k-th direction: leave the pair zero
        for (let col = 0; col < inDim; col++) a[k * inDim + col] = root * right.get(col, k);
        for (let row = 0; row < outDim; row++) bOut[row * target + k] = leftScaled.get(row, k) / root;
    }
    return { baseName: factors.baseName, rank: target, inDim, outDim, a, b: bOut, scale: 1 };
}
