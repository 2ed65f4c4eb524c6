import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The bench's Python scripts (kept in the source tree's `bench/`, next to this file's source). */
const PYTHON_BENCH_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "bench");

// Debian's python3-torch computes with the reference BLAS unless the pthread OpenBLAS is loaded first.
const OPENBLAS_DIR = `/usr/lib/${os.arch() === "x64" ? "x86_64" : os.arch()}-linux-gnu/openblas-pthread`;

/** Whether PyTorch will run on OpenBLAS: on the reference BLAS it is several times slower, and a ratio against it would flatter. */
export const torchHasOpenBlas = (): boolean => existsSync(OPENBLAS_DIR);

/** A python with torch importable: CRAYON_TORCH_PYTHON, else python3 on PATH, else the system python3. */
export function findTorchPython(): string | null {
    const candidates = [process.env["CRAYON_TORCH_PYTHON"], "python3", "/usr/bin/python3"].filter((p): p is string => !!p);
    for (const python of candidates) {
        if (spawnSync(python, ["-c", "import torch"], { stdio: "ignore" }).status === 0) return python;
    }
    return null;
}

/** Runs one of the bench's Python scripts on OpenBLAS (one BLAS thread per torch thread); its last stdout line is JSON. */
export function runTorchScript<T>(python: string, script: string, args: string[]): T | null {
    const env = { ...process.env, OPENBLAS_NUM_THREADS: "1", ...(torchHasOpenBlas() ? { LD_LIBRARY_PATH: OPENBLAS_DIR } : {}) };
    const run = spawnSync(python, [path.join(PYTHON_BENCH_DIR, script), ...args], { encoding: "utf8", env });
    const line = run.stdout.trim().split("\n").at(-1);
    if (run.status !== 0 || line === undefined || !(line.startsWith("{") || line.startsWith("["))) {
        console.error(`${script} failed (exit ${run.status}): ${run.stderr.trim().split("\n").slice(-2).join(" | ")}`);
        return null;
    }
    return JSON.parse(line) as T;
}
