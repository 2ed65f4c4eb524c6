import * as tf from "@tensorflow/tfjs";
import { setupEngine } from "../src/train/engine/backend.js";
import { trainStep } from "../src/train/trainStep.js";
import { prepareTrainingCase } from "./trainingCase.js";
import { TRAINING_CASES } from "./trainingShapes.js";

/**
 * Where a training step's time goes, per tfjs kernel: `node dist/bench/profileTraining.js <case index>`.
 * Kernel times are wall-clock per call (the wasm kernels are synchronous); the rest of the step
 * (autograd bookkeeping, gradient read-back, the optimizer) is reported as one line.
 */
const c = TRAINING_CASES[Number(process.argv[2] ?? 0)]!;
const { model, optimizer, microBatches } = prepareTrainingCase(c, await setupEngine());
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
const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelMs = rows.reduce((s, [, e]) => s + e.ms, 0);
console.log(`${c.name} ${c.mode} B=${c.batchSize} T=${c.seqLen}: step ${stepMs.toFixed(0)} ms (profiled), kernels ${kernelMs.toFixed(0)} ms`);
for (const [name, e] of rows.slice(0, 18)) console.log(`  ${name.padEnd(22)} ${e.ms.toFixed(1).padStart(8)} ms ${String(e.calls).padStart(6)} calls`);
console.log(`  ${"(outside kernels)".padEnd(22)} ${(stepMs - kernelMs).toFixed(1).padStart(8)} ms`);
