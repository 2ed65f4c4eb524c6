import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, LLAMA_ARCHITECTURE, type LoraTarget } from "../../src/gguf/constants.js";
import { readGguf } from "../../src/gguf/reader.js";
import { llamaLogits } from "../../src/model/forward.js";
import { combineLoraStacks, type LoraStack } from "../../src/model/lora.js";
import { readLoraAdapter, writeLoraAdapter } from "../../src/model/loraFile.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../../src/model/modelFile.js";
import { writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { LlamaRuntime, logitsAt, type AdapterRef } from "../../src/runtime/llama.js";

// The bridge: weights written by Crayon mean the same thing in tfjs and in llama.cpp.
const tolerance = 1e-4; // max abs logit difference, F32 KV cache

let runtime: LlamaRuntime;
let dir: string;

beforeAll(async () => {
    await tf.setBackend("cpu");
    runtime = await LlamaRuntime.create({ threads: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-parity-"));
});

afterAll(async () => {
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
    expect(a.length).toBe(b.length);
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
    return max;
}

/** tfjs logits of every position: one [vocab] row per token. */
function tfjsLogits(model: LoadedLlamaModel, tokens: readonly number[], lora?: LoraStack): Float32Array[] {
    const logits = tf.tidy(() => llamaLogits(model.hp, model.weights, tf.tensor2d([[...tokens]], [1, tokens.length], "int32"), lora));
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    const vocab = model.hp.vocabSize;
    return tokens.map((_, i) => data.slice(i * vocab, (i + 1) * vocab));
}

function argmax(values: ArrayLike<number>): number {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
    return best;
}

/** A random adapter with non-zero B (a trained adapter's B is not zero either). */
function randomAdapter(model: LoadedLlamaModel, rank: number, alpha: number, targets: LoraTarget[], seed: number): LoraStack {
    const { hp } = model;
    const dims: Record<LoraTarget, [number, number]> = {
        q: [hp.embeddingLength, hp.headCount * hp.headDim],
        k: [hp.embeddingLength, hp.headCountKv * hp.headDim],
        v: [hp.embeddingLength, hp.headCountKv * hp.headDim],
        o: [hp.headCount * hp.headDim, hp.embeddingLength],
        gate: [hp.embeddingLength, hp.feedForwardLength],
        up: [hp.embeddingLength, hp.feedForwardLength],
        down: [hp.feedForwardLength, hp.embeddingLength]
    };
    let next = seed;
    return Array.from({ length: hp.blockCount }, () =>
        Object.fromEntries(
            targets.map((target) => {
                const [inDim, outDim] = dims[target];
                const a = tf.randomNormal([inDim, rank], 0, 0.1, "float32", next++) as tf.Tensor2D;
                const b = tf.randomNormal([rank, outDim], 0, 0.1, "float32", next++) as tf.Tensor2D;
                return [target, [{ a, b, scale: alpha / rank }]];
            })
        )
    );
}

describe.each([
    ["F32 weights, untied head", GgmlType.F32, false],
    ["F16 weights, untied head", GgmlType.F16, false],
    ["F32 weights, tied head", GgmlType.F32, true]
] as const)("tfjs forward pass vs node-llama-cpp, %s", (label, matrixType, tiedOutput) => {
    const slug = label.replace(/\W+/g, "-");
    let modelPath: string;
    let model: LoadedLlamaModel;
    let llamaModel: LlamaModel;
    let tokens: Token[];

    beforeAll(async () => {
        modelPath = path.join(dir, `random-${slug}.gguf`);
        // ≥ 2 layers, GQA (4 query heads share 2 KV heads)
        await writeRandomLlamaModel(modelPath, {
            embeddingLength: 64, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 96,
            tiedOutput, matrixType, seed: 7
        });
        model = await loadLlamaModel(modelPath);
        llamaModel = await runtime.loadModel(modelPath);
        tokens = [llamaModel.tokens.bos!, ...llamaModel.tokenize("the answer is 42, of question (b).")];
    });

    async function compare(adapters: AdapterRef[], lora?: LoraStack): Promise<number> {
        const context = await runtime.createContext(llamaModel, { adapters });
        try {
            const positions = tokens.map((_, i) => i);
            const expected = tfjsLogits(model, tokens, lora);
            const actual = await logitsAt(context, tokens, positions);
            return Math.max(...positions.map((i) => maxAbsDiff(actual[i]!, expected[i]!)));
        } finally {
            await context.dispose();
        }
    }

    it("gives the same logits at every position", async () => {
        expect(tokens.length).toBeGreaterThan(10);
        expect(await compare([])).toBeLessThanOrEqual(tolerance);
    });

    it("applies one LoRA adapter with α ≠ r exactly as the reference predicts", async () => {
        const adapterPath = path.join(dir, `one-${slug}.gguf`);
        const written = randomAdapter(model, 4, 8, ["q", "k", "v", "o", "gate", "up", "down"], 100);
        await writeLoraAdapter(adapterPath, { architecture: LLAMA_ARCHITECTURE, alpha: 8, stack: written, name: "one" });
        const lora = await readLoraAdapter(await readGguf(adapterPath), model.hp);
        const baseDiff = await compare([]);
        const adapted = await compare([{ path: adapterPath, scale: 1 }], lora);
        expect(adapted).toBeLessThanOrEqual(tolerance);
        // the adapter really changes the logits, by far more than the tolerance
        const unchanged = tfjsLogits(model, tokens);
        const changed = tfjsLogits(model, tokens, lora);
        expect(maxAbsDiff(unchanged.at(-1)!, changed.at(-1)!)).toBeGreaterThan(100 * tolerance + baseDiff);
    });

    it("applies two adapters at scales 0.5 and 1.5 at once", async () => {
        const first = path.join(dir, `first-${slug}.gguf`);
        const second = path.join(dir, `second-${slug}.gguf`);
        await writeLoraAdapter(first, { architecture: LLAMA_ARCHITECTURE, alpha: 16, stack: randomAdapter(model, 8, 16, ["q", "v", "o"], 200), name: "first" });
        await writeLoraAdapter(second, { architecture: LLAMA_ARCHITECTURE, alpha: 3, stack: randomAdapter(model, 2, 3, ["k", "gate", "down"], 300), name: "second" });
        const lora = combineLoraStacks([
            await readLoraAdapter(await readGguf(first), model.hp, 0.5),
            await readLoraAdapter(await readGguf(second), model.hp, 1.5)
        ]);
        const diff = await compare([{ path: first, scale: 0.5 }, { path: second, scale: 1.5 }], lora);
        expect(diff).toBeLessThanOrEqual(tolerance);
    });

    it("generates the same 16 tokens greedily", async () => {
        const context = await runtime.createContext(llamaModel);
        const generated: number[] = [];
        try {
            const sequence = context.getSequence();
            for await (const token of sequence.evaluate(tokens, { temperature: 0, yieldEogToken: true })) {
                generated.push(token);
                if (generated.length === 16) break;
            }
        } finally {
            await context.dispose();
        }
        const reference: number[] = [];
        const running = [...tokens] as number[];
        for (let step = 0; step < 16; step++) {
            const next = argmax(tfjsLogits(model, running).at(-1)!);
            reference.push(next);
            running.push(next);
        }
        expect(generated).toEqual(reference);
    });
});
