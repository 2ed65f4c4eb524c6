import { describe, expect, it } from "vitest";
import { CrayonError } from "../../src/errors.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { ensureRealExit, estimateTrainingMemory, parameterCount, planBatch, WASM_HEAP_LIMIT } from "../../src/train/engine/memoryGuard.js";

function shape(d: number, layers: number, heads: number, kvHeads: number, ffn: number, vocab: number): LlamaHparams {
    return {
        architecture: "llama", vocabSize: vocab, contextLength: 2048, embeddingLength: d, blockCount: layers, feedForwardLength: ffn,
        headCount: heads, headCountKv: kvHeads, headDim: d / heads, ropeDimensionCount: d / heads, ropeFreqBase: 10000, rmsEpsilon: 1e-5,
        tiedOutput: true
    };
}
const device = shape(128, 4, 4, 2, 352, 1024);
const smolLm2 = shape(576, 30, 9, 3, 1536, 49152);
const lora = { rank: 8, targets: ["q", "k", "v", "o"] as ("q" | "k" | "v" | "o")[] };

describe("memory guard", () => {
    it("counts SmolLM2-135M's parameters", () => {
        expect(parameterCount(smolLm2)).toBe(134_515_008);
    });

    it("lets a device-sized run through at full batch", () => {
        const plan = planBatch({ hp: device, mode: "full", batchSize: 8, seqLen: 128 }, WASM_HEAP_LIMIT);
        expect(plan).toMatchObject({ microBatch: 8, accumulationSteps: 1 });
        expect(plan.estimate.wasmHeap).toBeLessThan(1 << 30);
    });

    it("shrinks the micro-batch and accumulates to keep the batch", () => {
        const plan = planBatch({ hp: smolLm2, mode: "lora", batchSize: 16, seqLen: 256, lora }, WASM_HEAP_LIMIT);
        expect(plan.microBatch).toBeLessThan(16);
        expect(plan.microBatch).toBeGreaterThan(0);
        expect(plan.accumulationSteps).toBe(Math.ceil(16 / plan.microBatch));
        expect(plan.estimate.wasmHeap).toBeLessThanOrEqual(WASM_HEAP_LIMIT);
    });

    it("grows with batch, sequence length and mode", () => {
        const base = { hp: smolLm2, mode: "lora" as const, microBatch: 1, seqLen: 128, lora };
        const one = estimateTrainingMemory(base).wasmHeap;
        expect(estimateTrainingMemory({ ...base, microBatch: 2 }).wasmHeap).toBeGreaterThan(one);
        expect(estimateTrainingMemory({ ...base, seqLen: 256 }).wasmHeap).toBeGreaterThan(one);
        expect(estimateTrainingMemory({ ...base, mode: "full" }).wasmHeap).toBeGreaterThan(one);
    });

    it("refuses a deliberately huge run up front with a message that says what to do", () => {
        const huge = shape(2048, 24, 16, 8, 5632, 32000); // ~1.1B parameters: the weights alone exceed the heap
        const plan = () => planBatch({ hp: huge, mode: "full", batchSize: 4, seqLen: 512 }, WASM_HEAP_LIMIT);
        expect(plan).toThrow(CrayonError);
        expect(plan).toThrow(/needs about \d+\.\d GB .* more than the 4\.0 GB available\. Use shorter sequences, LoRA/);
    });
});

describe("ensureRealExit", () => {
    const newExitListener = (before: Function[]) => process.listeners("exit").find((l) => !before.includes(l)) as (code: number) => void;

    it("turns a silent exit 0 of an unfinished run into exit 1", () => {
        const before = process.listeners("exit");
        const guard = ensureRealExit("test run");
        const listener = newExitListener(before);
        const saved = process.exitCode;
        try {
            listener(0);
            expect(process.exitCode).toBe(1);
        } finally {
            process.exitCode = saved;
            guard.markComplete();
        }
        expect(process.listeners("exit")).not.toContain(listener);
    });

    it("leaves a completed run's exit code alone", () => {
        const before = process.listeners("exit");
        const guard = ensureRealExit("test run");
        expect(newExitListener(before)).toBeDefined();
        guard.markComplete();
        expect(process.listeners("exit")).toEqual(before);
    });
});
