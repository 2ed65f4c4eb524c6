import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, blockTensorName, loraBTensorName, loraTargetTensorKind, type LoraTarget } from "../../src/gguf/constants.js";
import { readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { writeGguf } from "../../src/gguf/writer.js";
import { permuteRopeRows } from "../../src/interop/hfLayout.js";
import { importPeftAdapter } from "../../src/interop/importPeft.js";
import { LlamaRuntime, logitsAt, type AdapterRef } from "../../src/runtime/llama.js";
import { hfLogits, makeHfLlama, writeHfLlamaAsGguf, type HfLlama, type LoraDelta } from "./hfLlama.js";
import { peftConfig, peftTensors, randomPeftFactors, writePeftFolder } from "./peftFixtures.js";

// The reordering of q/k rows is proven, not assumed: a Hugging Face llama (rotate-half RoPE) computed in
// float64 with a PEFT LoRA, against the converted GGUF in llama.cpp with the imported GGUF LoRA.
const tolerance = 1e-4; // max abs logit difference

const TARGETS: LoraTarget[] = ["q", "k", "v", "o", "gate", "up", "down"];
/** rsLoRA, k_proj at rank 2, layer 1's q_proj with its own alpha: every PEFT scale rule at once */
const CONFIG = peftConfig({
    r: 4, lora_alpha: 8, use_rslora: true, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
    rank_pattern: { k_proj: 2 }, alpha_pattern: { "layers.1.self_attn.q_proj": 3 }
});
const rankOf = (_layer: number, target: LoraTarget) => (target === "k" ? 2 : 4);
const scaleOf = (layer: number, target: LoraTarget) => (layer === 1 && target === "q" ? 3 : 8) / Math.sqrt(rankOf(layer, target));

let runtime: LlamaRuntime;
let dir: string;
let model: HfLlama;
let llamaModel: LlamaModel;
let deltas: LoraDelta[];
let importedPath: string;
const tokens = [1, 40, 7, 300, 120, 99, 250, 13, 64, 200, 180, 5, 77, 260];

beforeAll(async () => {
    runtime = await LlamaRuntime.create({ threads: 1 });
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-rope-layout-"));
    model = makeHfLlama();
    const ggufPath = path.join(dir, "tiny.gguf");
    writeHfLlamaAsGguf(ggufPath, model);
    llamaModel = await runtime.loadModel(ggufPath);
    const factors = randomPeftFactors(model.hp, TARGETS, rankOf);
    deltas = factors.map((f) => ({ ...f, scale: scaleOf(f.layer, f.target) }));
    const peftDir = writePeftFolder(path.join(dir, "peft"), CONFIG, peftTensors(factors));
    importedPath = path.join(dir, "imported.gguf");
    importPeftAdapter(peftDir, await readGguf(ggufPath), importedPath);
});

afterAll(async () => {
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

async function llamaCppLogits(adapters: AdapterRef[]): Promise<Float32Array[]> {
    const context = await runtime.createContext(llamaModel, { adapters });
    try {
        return await logitsAt(context, tokens as Token[], tokens.map((_, i) => i));
    } finally {
        await context.dispose();
    }
}

function maxAbsDiff(actual: Float32Array[], expected: number[][]): number {
    let max = 0;
    expected.forEach((row, t) => row.forEach((value, i) => (max = Math.max(max, Math.abs(actual[t]![i]! - value)))));
    return max;
}

describe("Hugging Face layout (rotate-half RoPE) vs GGUF layout in llama.cpp", () => {
    it("the converted base model gives the float64 reference's logits", async () => {
        expect(maxAbsDiff(await llamaCppLogits([]), hfLogits(model, tokens))).toBeLessThanOrEqual(tolerance);
    });

    it("the imported PEFT LoRA gives the reference's adapted logits, which differ from the base's", async () => {
        const adapted = hfLogits(model, tokens, deltas);
        expect(maxAbsDiff(await llamaCppLogits([{ path: importedPath, scale: 1 }]), adapted)).toBeLessThanOrEqual(tolerance);
        const base = hfLogits(model, tokens);
        expect(maxAbsDiff(base.map((row) => Float32Array.from(row)), adapted)).toBeGreaterThan(0.1);
    });

    it("an import that left B of q/k in Hugging Face order would be detected", async () => {
        const imported = await readGguf(importedPath);
        const { hp } = model;
        const naivePath = path.join(dir, "naive.gguf");
        const tensors = await Promise.all(imported.tensors.map(async (info) => {
            let data = await readTensorF32(imported, info);
            for (const [target, heads] of [["q", hp.headCount], ["k", hp.headCountKv]] as const) {
                for (let layer = 0; layer < hp.blockCount; layer++) {
                    if (info.name === loraBTensorName(blockTensorName(layer, loraTargetTensorKind(target)))) data = permuteRopeRows(data, info.dims[0]!, heads, false);
                }
            }
            return { name: info.name, type: GgmlType.F32 as const, dims: info.dims, data };
        }));
        writeGguf(naivePath, { metadata: imported.metadata, tensors });
        const naive = await llamaCppLogits([{ path: naivePath, scale: 1 }]);
        expect(maxAbsDiff(naive, hfLogits(model, tokens, deltas))).toBeGreaterThan(100 * tolerance);
    });
});
