import { execFileSync, spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findTorchPython, runTorchScript, torchHasOpenBlas } from "./torchBaseline.js";
import type { GgmlCaseResult } from "./ggmlTrainingCase.js";
import type { TrainingCaseResult } from "./trainingCase.js";
import { syntheticBatch, TRAINING_CASES, type TrainingCase } from "./trainingShapes.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const TORCH_THREADS = 2;

/** Tokens/s of the tfjs and ggml trainers per case (each in its own process), next to PyTorch-CPU when available. */
export async function runTrainingBench(): Promise<void> {
    const python = findTorchPython();
    // on the reference BLAS PyTorch is several times slower than it really is: a ratio against it would flatter
    const fairBaseline = python !== null && torchHasOpenBlas();
    console.log("Training throughput: forward + backward + AdamW; tokens/s = B·T / step time, median (best) of the timed steps.");
    console.log(python === null
        ? "PyTorch not found (install python3-torch and libopenblas0-pthread, or set CRAYON_TORCH_PYTHON): tfjs only."
        : fairBaseline
          ? `PyTorch baseline: ${python}, ${TORCH_THREADS} threads, OpenBLAS (1 thread per torch thread).`
          : `PyTorch at ${python} runs on the reference BLAS here (install libopenblas0-pthread): its figures are shown, no ratio.`);
    console.log("Other processes on this machine share its cores: treat single runs as noisy.\n");
    console.log(["case", "mode", "B×T", "tfjs tok/s", "ggml tok/s", "torch tok/s", "tfjs/torch", "ggml/tfjs", "ggml/torch", "tfjs loss", "ggml loss", "ggml fwd/bwd/opt ms", "tensors", "wasm heap", "ggml buffers", "ggml peak RSS"].join("\t"));
    const rate = (r: { tokensPerSecond: number; bestTokensPerSecond: number } | null) =>
        r === null ? "–" : `${r.tokensPerSecond.toFixed(0)} (${r.bestTokensPerSecond.toFixed(0)})`;
    TRAINING_CASES.forEach((c, index) => {
        const tfjs = runTfjsCase(index);
        const ggml = runGgmlCase(index);
        const torch = python === null ? null : runTorchCase(python, c);
        const ratio = (a: Rate | null, b: Rate | null, fair = true) =>
            a !== null && b !== null && fair ? `${(a.tokensPerSecond / b.tokensPerSecond).toFixed(2)}× (${(a.bestTokensPerSecond / b.bestTokensPerSecond).toFixed(2)}×)` : "–";
        const stableTensors = tfjs !== null && new Set(tfjs.numTensors).size === 1 ? "constant" : "CHANGING";
        console.log([
            c.name, c.mode, `${c.batchSize}×${c.seqLen}${tfjs !== null && tfjs.microBatch < c.batchSize ? ` (${tfjs.microBatch} per pass)` : ""}`,
            tfjs === null ? "failed" : rate(tfjs),
            ggml === null ? "failed" : rate(ggml),
            rate(torch),
            ratio(tfjs, torch, fairBaseline),
            ratio(ggml, tfjs),
            ratio(ggml, torch, fairBaseline),
            tfjs === null ? "–" : `${tfjs.firstLoss.toFixed(3)}→${tfjs.lastLoss.toFixed(3)}`,
            ggml === null ? "–" : `${ggml.firstLoss.toFixed(3)}→${ggml.lastLoss.toFixed(3)}`,
            ggml === null ? "–" : [ggml.profile.forwardMs, ggml.profile.backwardMs, ggml.profile.optimizerMs].map((ms) => ms.toFixed(0)).join("/"),
            tfjs === null ? "–" : stableTensors,
            tfjs?.wasmHeapMB == null ? "–" : `${tfjs.wasmHeapMB.toFixed(0)} MB`,
            ggml === null ? "–" : `${ggml.ggmlBuffersMB.toFixed(0)} MB`,
            ggml === null ? "–" : `${ggml.peakRssMB.toFixed(0)} MB`
        ].join("\t"));
    });
    if (python !== null) console.log(`\n(${describeTorch(python)})`);
}

type Rate = { tokensPerSecond: number; bestTokensPerSecond: number };

/** The ggml engine on the same case (its own process; ggml aborts on a failed assertion), at the bench's thread count. */
function runGgmlCase(index: number): GgmlCaseResult | null {
    const run = spawnSync(process.execPath, [path.join(here, "ggmlTrainingCase.js"), String(index), String(TORCH_THREADS)], { encoding: "utf8" });
    const line = run.stdout.trim().split("\n").at(-1);
    if (run.status !== 0 || line === undefined || !line.startsWith("{")) {
        console.error(`ggml case ${index} failed (exit ${run.status}): ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        return null;
    }
    return JSON.parse(line) as GgmlCaseResult;
}

function runTfjsCase(index: number): TrainingCaseResult | null {
    const run = spawnSync(process.execPath, [path.join(here, "trainingCase.js"), String(index)], { encoding: "utf8" });
    const line = run.stdout.trim().split("\n").at(-1);
    if (run.status !== 0 || line === undefined || !line.startsWith("{")) {
        console.error(`tfjs case ${index} failed (exit ${run.status}): ${run.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        return null;
    }
    return JSON.parse(line) as TrainingCaseResult;
}

function runTorchCase(python: string, c: TrainingCase): { tokensPerSecond: number; bestTokensPerSecond: number } | null {
    const batch = syntheticBatch(c);
    const payload = JSON.stringify({ ...c, inputs: [...batch.inputs], targets: [...batch.targets], lossMask: [...batch.lossMask] });
    return runTorchScript(python, "torch_train_step.py", [payload, String(TORCH_THREADS)]);
}

function describeTorch(python: string): string {
    const version = execFileSync(python, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" }).trim();
    return `torch ${version}; tfjs runs on the engine setupEngine() selects; ggml on node-llama-cpp's shipped libraries`;
}
