import os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { getThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { CrayonError } from "../../errors.js";
import { prepareThreadedWasm, unrefWasmWorkers } from "./threadedWasm.js";
import { versionMismatches } from "./versions.js";
import { wasmInternalsProblems } from "./wasmHeap.js";
import { registerWasmTrainingKernels } from "./wasmKernels.js";

export type EngineBackend = "tensorflow" | "wasm" | "cpu";

export interface EngineInfo {
    backend: EngineBackend;
    threads: number;
    simd: boolean | null; // null: not a wasm backend
}

const BACKENDS: readonly EngineBackend[] = ["tensorflow", "wasm", "cpu"];
const TFJS_NODE = "@tensorflow/tfjs-node";

let ready: Promise<EngineInfo> | null = null;

/**
 * Selects and initialises the tfjs backend every Crayon tensor lives on: tfjs-node when it is
 * installed, else wasm (multithreaded where there are ≥ 2 cores, with the training kernels), else the
 * pure-JS cpu backend. `CRAYON_TF_BACKEND` (tensorflow | wasm | cpu) forces one — an error if it cannot
 * load — and `CRAYON_THREADS` sets the wasm thread count. Idempotent: later calls re-select the same
 * backend (tests may switch to cpu in between) and return the same info.
 */
export async function setupEngine(): Promise<EngineInfo> {
    ready ??= initialiseEngine().catch((error: unknown) => {
        ready = null;
        throw error;
    });
    const info = await ready;
    if (tf.getBackend() !== info.backend) await tf.setBackend(info.backend);
    return info;
}

/** One line for `crayon info`, e.g. `wasm (2 threads, SIMD)`. */
export function describeEngine(info: EngineInfo): string {
    const threads = `${info.threads} thread${info.threads === 1 ? "" : "s"}`;
    switch (info.backend) {
        case "wasm":
            return `wasm (${threads}, ${info.simd ? "SIMD" : "no SIMD"})`;
        case "tensorflow":
            return `tensorflow (tfjs-node, ${threads})`;
        case "cpu":
            return "cpu (pure JavaScript reference backend; slow)";
    }
}

async function initialiseEngine(): Promise<EngineInfo> {
    const requested = requestedBackend();
    if (requested !== null) return loadBackend(requested);
    try {
        return await loadTensorflow();
    } catch {
        // tfjs-node is an optional dependency and usually absent; wasm is the normal engine.
    }
    try {
        return await loadWasm();
    } catch (error) {
        process.emitWarning(`wasm backend unavailable (${(error as Error).message}); training on the slow cpu backend`);
        return loadBackend("cpu");
    }
}

function requestedBackend(): EngineBackend | null {
    const value = process.env["CRAYON_TF_BACKEND"];
    if (value === undefined || value === "") return null;
    if (!(BACKENDS as readonly string[]).includes(value)) {
        throw new CrayonError(`CRAYON_TF_BACKEND=${value} is not a backend: use one of ${BACKENDS.join(", ")}`);
    }
    return value as EngineBackend;
}

/** CRAYON_THREADS, else 2 where there are ≥ 2 cores, else 1. */
export function requestedThreads(): number {
    const value = process.env["CRAYON_THREADS"];
    if (value === undefined || value === "") return os.availableParallelism() >= 2 ? 2 : 1;
    const threads = Number(value);
    if (!Number.isInteger(threads) || threads < 1) {
        throw new CrayonError(`CRAYON_THREADS=${value} is not a thread count: use a whole number ≥ 1`);
    }
    return threads;
}

async function loadBackend(name: EngineBackend): Promise<EngineInfo> {
    try {
        if (name === "tensorflow") return await loadTensorflow();
        if (name === "wasm") return await loadWasm();
        if (!(await tf.setBackend("cpu"))) throw new Error("tf.setBackend('cpu') failed");
        return { backend: "cpu", threads: 1, simd: null };
    } catch (error) {
        if (error instanceof CrayonError) throw error;
        throw new CrayonError(`CRAYON_TF_BACKEND=${name} was requested but it cannot load: ${(error as Error).message}`);
    }
}

async function loadTensorflow(): Promise<EngineInfo> {
    const specifier: string = TFJS_NODE; // a variable keeps TypeScript from requiring the optional package
    await import(specifier);
    if (!(await tf.setBackend("tensorflow"))) throw new Error(`${TFJS_NODE} loaded but its backend did not start`);
    return { backend: "tensorflow", threads: os.availableParallelism(), simd: null };
}

async function loadWasm(): Promise<EngineInfo> {
    const mismatches = versionMismatches();
    if (mismatches.length > 0) {
        throw new CrayonError(
            `Crayon's wasm training kernels were written for other tfjs versions; found ${mismatches.join(", ")}. ` +
                "Reinstall the pinned versions (npm ci) or set CRAYON_TF_BACKEND=cpu."
        );
    }
    const threads = requestedThreads();
    const restore = threads > 1 ? prepareThreadedWasm(threads) : () => undefined;
    try {
        if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') failed (see the warning above)");
        await tf.ready();
    } finally {
        restore();
    }
    const problems = wasmInternalsProblems(tf.backend());
    if (problems.length > 0) throw new CrayonError(`tfjs-backend-wasm internals the training kernels need are missing: ${problems.join(", ")}`);
    registerWasmTrainingKernels();
    unrefWasmWorkers(tf.backend());
    const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) as boolean;
    return { backend: "wasm", threads: getThreadsCount(), simd };
}
