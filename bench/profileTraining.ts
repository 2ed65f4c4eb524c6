import * as tf from "@tensorflow/tfjs";
import { setupEngine } from "../src/train/engine/backend.js";
import { trainStep } from "../src/train/trainStep.js";
import { findTorchPython, runTorchScript, torchHasOpenBlas } from "./torchBaseline.js";
import { prepareTrainingCase } from "./trainingCase.js";
import { TRAINING_CASES } from "./trainingShapes.js";

/**
 * Where a training step's time goes, per tfjs kernel: `node dist/bench/profileTraining.js <case index>`.
 * Kernel times are wall-clock per call (the wasm kernels are synchronous); the rest of the step
 * (autograd bookkeeping, gradient read-back, the optimizer) is reported as one line. The matrix products
 * are also listed by shape with the rate they ran at (GFLOP/s), next to PyTorch's rate for the same product
 * with as many threads (when PyTorch is installed): the per-op gap a faster engine would have to close.
 */
const c = TRAINING_CASES[Number(process.argv[2] ?? 0)]!;
const engine = await setupEngine();
const { model, optimizer, microBatches } = prepareTrainingCase(c, engine);
trainStep(model, optimizer, microBatches); // warm-up

const start = performance.now();
const profile = await tf.profile(() => {
    trainStep(model, optimizer, microBatches);
});
const stepMs = performance.now() - start;
const byKernel = new Map<string, { ms: number; calls: number }>();
for (const k of profile.kernels) {
    const entry = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += k.kernelTimeMs as number;
    entry.calls++;
    byKernel.set(k.name, entry);
}
const products = new Map<string, { ms: number; calls: number; flops: number; product: [number, number, number, number] }>();
for (const k of profile.kernels.filter((k) => k.name === "BatchMatMul")) {
    const [a, b] = k.inputShapes as number[][];
    const out = k.outputShapes[0] as number[];
    const key = `${a!.join("×")} · ${b!.join("×")} → ${out.join("×")}`;
    const entry = products.get(key) ?? { ms: 0, calls: 0, flops: 0, product: productDims(a!, b!, out) };
    entry.ms += k.kernelTimeMs as number;
    entry.calls++;
    entry.flops += 2 * entry.product.reduce((p, d) => p * d, 1);
    products.set(key, entry);
}
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(`${c.name} ${c.mode} B=${c.batchSize} T=${c.seqLen}: step ${stepMs.toFixed(0)} ms (profiled), kernels ${kernelMs.toFixed(0)} ms`);
for (const [name, e] of rows.slice(0, 18)) console.log(`  ${name.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(6)} calls`);
console.log(`  ${"(outside kernels)".padEnd(22)} ${(stepMs - kernelMs).toFixed(1).padStart(8)} ms`);

const totalFlops = [...products.values()].reduce((s, e) => s + e.flops, 0);
const productMs = [...products.values()].reduce((s, e) => s + e.ms, 0);
const top = [...products.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
const python = findTorchPython();
const threads = engine.threads;
const torchRates = python === null ? null : runTorchScript<number[]>(python, "torch_matmul.py", [JSON.stringify(top.map(([, e]) => e.product)), String(threads)]);
console.log(`matrix products: ${(totalFlops / 1e9).toFixed(2)} GFLOP in ${productMs.toFixed(0)} ms = ${(totalFlops / productMs / 1e6).toFixed(1)} GFLOP/s` +
    (torchRates === null ? " (PyTorch not found: no per-product baseline)" : `; PyTorch on the same products, ${threads} thread(s)${torchHasOpenBlas() ? "" : " (reference BLAS: slow)"}:`));
top.forEach(([key, e], i) => {
    const torch = torchRates?.[i];
    console.log(`  ${key.padEnd(44)} ${e.ms.toFixed(1).padStart(7)} ms ${String(e.calls).padStart(4)} calls ${(e.flops / e.ms / 1e6).toFixed(1).padStart(6)} GFLOP/s` +
        (torch === undefined ? "" : `   torch ${torch.toFixed(1).padStart(6)} GFLOP/s`));
});

/**
 * [batch, m, k, n] of a product, whichever operands were transposed: out is [batch…, m, n], and
 * |a|·|b| = |out|·k²·(b's batch size), so the shared dimension k follows from the three sizes.
 */
function productDims(a: number[], b: number[], out: number[]): [number, number, number, number] {
    const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
    const k = Math.round(Math.sqrt((size(a) * size(b)) / (size(out) * size(b.slice(0, -2)))));
    return [size(out.slice(0, -2)), out.at(-2)!, k, out.at(-1)!];
}
