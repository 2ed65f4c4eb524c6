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

    let left: Matrix; // [out, ·] left singular vectors of ΔW, orthonormal columns
    let right: Matrix; // [in, ·] right singular vectors of ΔW
    let svd: SingularValueDecomposition;
    if (stacked <= Math.min(inDim, outDim)) {
        const qrB = new QrDecomposition(b);
        const qrA = new QrDecomposition(at);
        const core = qrB.upperTriangularMatrix.mmul(qrA.upperTriangularMatrix.transpose()); // [R, R]
        svd = new SingularValueDecomposition(core);
        left = qrB.orthogonalMatrix.mmul(svd.leftSingularVectors);
        right = qrA.orthogonalMatrix.mmul(svd.rightSingularVectors);
    } else {
        svd = new SingularValueDecomposition(b.mmul(at.transpose()), { autoTranspose: true }); // ΔW [out, in]
        left = svd.leftSingularVectors;
        right = svd.rightSingularVectors;
    }
    const sigma = svd.diagonal; // descending
    const a = new Float32Array(target * inDim); // [rank, in]
    const bOut = new Float32Array(outDim * target); // [out, rank]
    for (let k = 0; k < target; k++) {
        const root = Math.sqrt(Math.max(0, sigma[k]!));
        for (let col = 0; col < inDim; col++) a[k * inDim + col] = root * right.get(col, k);
        for (let row = 0; row < outDim; row++) bOut[row * target + k] = root * left.get(row, k);
    }
    return { baseName: factors.baseName, rank: target, inDim, outDim, a, b: bOut, scale: 1 };
}
