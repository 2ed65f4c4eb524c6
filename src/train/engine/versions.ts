import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";

/**
 * The wasm kernel replacements and the threaded-wasm set-up reach into tfjs internals (the wasm heap,
 * the tensor registry, the pthread worker script). They were written against exactly these versions;
 * any other version must be re-checked before it is trusted with training.
 */
export const PINNED_TFJS_VERSION = "4.22.0";
export const PINNED_TFJS_WASM_VERSION = "4.22.0";

/**
 * The statement inside tfjs-backend-wasm's pthread worker script that loads the emscripten factory from
 * a Blob URL. Node's worker_threads cannot read Blob URLs, so the threaded set-up replaces it with a
 * plain file import (see threadedWasm.ts).
 */
export const WORKER_FACTORY_IMPORT =
    'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

const require = createRequire(import.meta.url);

/** Installed versions, as tfjs reports them. */
export function installedTfjsVersions(): { tfjs: string; tfjsCore: string; tfjsWasm: string } {
    return { tfjs: tf.version.tfjs, tfjsCore: tf.version["tfjs-core"], tfjsWasm: version_wasm };
}

/** One line per installed package whose version differs from the pinned one; empty when all match. */
export function versionMismatches(): string[] {
    const found = installedTfjsVersions();
    const problems: string[] = [];
    if (found.tfjs !== PINNED_TFJS_VERSION) problems.push(`@tensorflow/tfjs ${found.tfjs} (expected ${PINNED_TFJS_VERSION})`);
    if (found.tfjsCore !== PINNED_TFJS_VERSION) problems.push(`@tensorflow/tfjs-core ${found.tfjsCore} (expected ${PINNED_TFJS_VERSION})`);
    if (found.tfjsWasm !== PINNED_TFJS_WASM_VERSION) {
        problems.push(`@tensorflow/tfjs-backend-wasm ${found.tfjsWasm} (expected ${PINNED_TFJS_WASM_VERSION})`);
    }
    return problems;
}

/** Files of the installed tfjs-backend-wasm package the threaded set-up reads. */
export function wasmPackageFiles(): { workerModule: string; threadedFactory: string } {
    return {
        workerModule: require.resolve("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js"),
        threadedFactory: require.resolve("@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js")
    };
}

/** The pthread worker script source as tfjs-backend-wasm ships it. */
export function wasmWorkerContents(): string {
    const loaded = require(wasmPackageFiles().workerModule) as { wasmWorkerContents?: unknown };
    if (typeof loaded.wasmWorkerContents !== "string") {
        throw new Error("tfjs-backend-wasm's worker module no longer exports `wasmWorkerContents`");
    }
    return loaded.wasmWorkerContents;
}
