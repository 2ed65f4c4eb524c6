import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import { setupEngine } from "../../src/train/engine/backend.js";
import { installedTfjsVersions, PINNED_TFJS_VERSION, PINNED_TFJS_WASM_VERSION, versionMismatches, wasmWorkerContents, WORKER_FACTORY_IMPORT } from "../../src/train/engine/versions.js";
import { wasmInternalsProblems } from "../../src/train/engine/wasmHeap.js";

// These fail loudly on purpose: the wasm training kernels reach into tfjs internals, and a tfjs upgrade
// must be a deliberate act that re-checks them (then update the pins in src/train/engine/versions.ts).
describe("tfjs versions and internals the wasm training kernels rely on", () => {
    it("installed tfjs packages are exactly the pinned versions", () => {
        expect(versionMismatches(), `re-check src/train/engine before moving off ${PINNED_TFJS_VERSION}`).toEqual([]);
        expect(installedTfjsVersions()).toEqual({ tfjs: PINNED_TFJS_VERSION, tfjsCore: PINNED_TFJS_VERSION, tfjsWasm: PINNED_TFJS_WASM_VERSION });
    });

    it("the pthread worker script still loads its factory the way the threaded set-up rewrites", () => {
        expect(wasmWorkerContents()).toContain(WORKER_FACTORY_IMPORT);
    });

    it("the wasm backend still has every internal member the kernels use", async () => {
        await setupEngine();
        expect(tf.getBackend()).toBe("wasm");
        expect(wasmInternalsProblems(tf.backend())).toEqual([]);
        for (const kernel of ["BatchMatMul", "Transpose", "Slice", "Identity", "Cast", "OneHot"]) {
            expect(tf.getKernel(kernel, "wasm"), kernel).toBeDefined();
        }
    });

    it("the engine runs the threaded build with two threads on a machine with two or more cores", async () => {
        const info = await setupEngine();
        if (process.env["CRAYON_THREADS"] === undefined) expect(info.threads).toBe(Math.min(2, Math.max(1, (await import("node:os")).availableParallelism())));
        expect(info.simd).toBe(true);
    });
});
