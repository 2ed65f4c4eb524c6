import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { installedTfjsVersions, wasmPackageFiles, wasmWorkerContents, WORKER_FACTORY_IMPORT } from "./versions.js";

/**
 * tfjs-backend-wasm switches its multithreaded XNNPACK build off whenever it detects Node
 * (tensorflow/tfjs#3830). Three things stand in the way, each handled here:
 * 1. the WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false for Node;
 * 2. pthread workers are started from a Blob URL, which Node's worker_threads cannot load — we write
 *    the worker script (and the emscripten factory it imports) to real files in a cache directory;
 * 3. the C++ side caps its thread pool at half the logical cores it sees, i.e. one thread on two
 *    cores, so while the module initialises it is shown twice the cores.
 * Returns a function that undoes the temporary global changes; call it once the backend is ready.
 */
export function prepareThreadedWasm(threads: number): () => void {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    setThreadsCount(threads);
    const workerFile = writeWorkerFiles();

    const createObjectURL = URL.createObjectURL;
    URL.createObjectURL = (obj: Blob): string => {
        // The only JavaScript Blob tfjs turns into a URL is the pthread worker script.
        if (obj instanceof Blob && obj.type === "application/javascript") return workerFile;
        return createObjectURL.call(URL, obj);
    };
    const cpus = os.cpus;
    os.cpus = () => {
        const real = cpus();
        return real.concat(real);
    };
    return () => {
        URL.createObjectURL = createObjectURL;
        os.cpus = cpus;
    };
}

/**
 * Emscripten keeps a reference on every running pthread worker, so a process that used the threaded
 * backend would never exit on its own. The pool threads only ever work during a synchronous kernel
 * call from the main thread, so they need not hold the process open.
 */
export function unrefWasmWorkers(backend: unknown): void {
    const pthreads = (backend as { wasm?: { PThread?: { runningWorkers?: { unref(): void }[] } } }).wasm?.PThread;
    for (const worker of pthreads?.runningWorkers ?? []) worker.unref();
}

/** Writes the worker script and the factory it imports, once per tfjs version; returns the worker path. */
function writeWorkerFiles(): string {
    const dir = path.join(os.tmpdir(), `crayon-tfjs-wasm-${installedTfjsVersions().tfjsWasm}`);
    const factoryFile = path.join(dir, "factory.cjs");
    const workerFile = path.join(dir, "pthread-worker.cjs");
    const worker = wasmWorkerContents();
    if (!worker.includes(WORKER_FACTORY_IMPORT)) {
        throw new Error("tfjs-backend-wasm's pthread worker script no longer has the expected factory import");
    }
    // Same escaping tfjs applies before wrapping the script in a Blob: its string literals hold raw newlines.
    const workerSource = worker.replace(WORKER_FACTORY_IMPORT, `importScripts(${JSON.stringify(factoryFile)});`).replace(/\n/g, "\\n");
    const factorySource = readFileSync(wasmPackageFiles().threadedFactory, "utf8");
    mkdirSync(dir, { recursive: true });
    writeIfChanged(factoryFile, factorySource);
    writeIfChanged(workerFile, workerSource);
    return workerFile;
}

/** Atomic write (temp file + rename) so concurrent processes never read a half-written script. */
function writeIfChanged(file: string, contents: string): void {
    if (existsSync(file) && readFileSync(file, "utf8") === contents) return;
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, contents);
    renameSync(temp, file);
}
