import * as tf from "@tensorflow/tfjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { describeEngine } from "../../src/train/engine/backend.js";

/** A fresh copy of the engine module (its one-time set-up state starts empty) under the given environment. */
async function freshSetup(env: Record<string, string>) {
    vi.resetModules();
    for (const [key, value] of Object.entries(env)) vi.stubEnv(key, value);
    const module = await import("../../src/train/engine/backend.js");
    return module.setupEngine();
}

async function tfjsNodeInstalled(): Promise<boolean> {
    const name: string = "@tensorflow/tfjs-node";
    return import(name).then(() => true, () => false);
}

describe("engine set-up", () => {
    afterEach(() => {
        vi.unstubAllEnvs();
    });

    it("describes an engine in one line", () => {
        expect(describeEngine({ backend: "wasm", threads: 2, simd: true })).toBe("wasm (2 threads, SIMD)");
        expect(describeEngine({ backend: "wasm", threads: 1, simd: false })).toBe("wasm (1 thread, no SIMD)");
        expect(describeEngine({ backend: "cpu", threads: 1, simd: null })).toMatch(/^cpu/);
    });

    it("picks wasm when tfjs-node is absent, is idempotent, and re-selects its backend", async () => {
        if (await tfjsNodeInstalled()) return;
        const first = await freshSetup({});
        expect(first.backend).toBe("wasm");
        const { setupEngine } = await import("../../src/train/engine/backend.js");
        await tf.setBackend("cpu");
        expect(await setupEngine()).toEqual(first);
        expect(tf.getBackend()).toBe("wasm");
    });

    it("honours CRAYON_TF_BACKEND=cpu", async () => {
        expect(await freshSetup({ CRAYON_TF_BACKEND: "cpu" })).toEqual({ backend: "cpu", threads: 1, simd: null });
        expect(tf.getBackend()).toBe("cpu");
    });

    it("rejects an unknown backend name", async () => {
        // the fresh module graph has its own CrayonError class: compare by name
        await expect(freshSetup({ CRAYON_TF_BACKEND: "gpu" })).rejects.toMatchObject({ name: "CrayonError" });
        await expect(freshSetup({ CRAYON_TF_BACKEND: "gpu" })).rejects.toThrow(/use one of tensorflow, wasm, cpu/);
    });

    it("fails clearly, without falling back, when the requested backend cannot load", async () => {
        if (await tfjsNodeInstalled()) return;
        await expect(freshSetup({ CRAYON_TF_BACKEND: "tensorflow" })).rejects.toThrow(/CRAYON_TF_BACKEND=tensorflow was requested but it cannot load/);
    });

    it("rejects a thread count that is not a whole number", async () => {
        await expect(freshSetup({ CRAYON_TF_BACKEND: "wasm", CRAYON_THREADS: "two" })).rejects.toThrow(/CRAYON_THREADS=two/);
    });
});
