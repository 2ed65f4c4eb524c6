import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufKey, LORA_TARGETS, type LoraTarget } from "../../src/gguf/constants.js";
import { metadataString, readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { HF_TARGET_MODULES, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, peftTensorName } from "../../src/interop/hfLayout.js";
import { importPeftAdapter } from "../../src/interop/importPeft.js";
import { projectionShape } from "../../src/interop/llamaShapes.js";
import { readSafetensors } from "../../src/interop/safetensors.js";
import { readLlamaHparams, type LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { sha256File } from "../../src/pool/fingerprint.js";
import { loadPool } from "../../src/pool/loadPool.js";
import { projectRoot } from "../../src/version.js";
import { expectOneLineError, runCrayon } from "../cli/runCrayon.js";
import { testItems, writeTestModel } from "../runtime/fixtures.js";
import { peftConfig, peftTensors, randomPeftFactors, writePeftFolder } from "./peftFixtures.js";

const worldPool = path.join(projectRoot, "pools", "world");
const devicePath = path.join(projectRoot, "models", "device.gguf");
/** A concat blend's rank: the sum of the embedded pool's adapter ranks. */
const blendRank = (JSON.parse(readFileSync(path.join(worldPool, "manifest.json"), "utf8")) as { adapters: { rank: number }[] }).adapters.reduce((sum, adapter) => sum + adapter.rank, 0);

let dir: string;
let examples: string;

beforeAll(async () => {
    process.env.CRAYON_LLAMA_THREADS = "1";
    await tf.setBackend("cpu"); // the random test model is made with tfjs
    dir = await mkdtemp(path.join(os.tmpdir(), "crayon-peft-cli-"));
    examples = path.join(dir, "examples.jsonl");
    writeFileSync(examples, testItems().map((item) => JSON.stringify(item)).join("\n"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every factor of a GGUF adapter, by tensor name, as float32. */
async function ggufFactors(file: string): Promise<Map<string, { dims: number[]; data: Float32Array }>> {
    const gguf = await readGguf(file);
    return new Map(await Promise.all(gguf.tensors.map(async (t) => [t.name, { dims: t.dims, data: await readTensorF32(gguf, t) }] as const)));
}

describe("the embedded pool's adapters, exported to PEFT and imported back", () => {
    it("are the same files, byte for byte (F32)", async () => {
        const pool = await loadPool(worldPool, { baseModelPath: devicePath });
        const base = await readGguf(devicePath);
        for (const adapterPath of pool.adapterPaths) {
            const peftDir = path.join(dir, "roundtrip", path.basename(adapterPath, ".gguf"));
            const exported = await runCrayon(["export-peft", adapterPath, "--model", devicePath, "--out", peftDir]);
            expect(exported.code, exported.stderr).toBe(0);
            expect(exported.stdout).toMatch(/^wrote .* \(r 8, lora_alpha 16, q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj; base crayon-device\)$/m);
            const back = path.join(dir, "roundtrip", `${path.basename(adapterPath)}`);
            importPeftAdapter(peftDir, base, back);
            expect(await sha256File(back), adapterPath).toBe(await sha256File(adapterPath));
        }
    });
});

describe("crayon blend --format peft on the embedded pool", () => {
    const outDir = () => path.join(dir, "blend-peft");

    it("writes a PEFT folder: r, lora_alpha, target_modules and the base model in the config, PEFT's tensor names and shapes", async () => {
        const result = await runCrayon(["blend", "--examples", examples, "--method", "uniform", "--format", "peft", "--out", outDir()]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(new RegExp(`wrote ${outDir()} \\(rank ${blendRank},`));
        expect(readdirSync(outDir()).sort()).toEqual([PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE]);
        const config = JSON.parse(readFileSync(path.join(outDir(), PEFT_CONFIG_FILE), "utf8")) as Record<string, unknown>;
        const targetModules = LORA_TARGETS.map((t) => HF_TARGET_MODULES[t].module);
        expect(config).toMatchObject({ peft_type: "LORA", task_type: "CAUSAL_LM", r: blendRank, lora_alpha: blendRank, target_modules: targetModules, base_model_name_or_path: "crayon-device", use_rslora: false, use_dora: false, rank_pattern: {}, alpha_pattern: {} });

        const hp: LlamaHparams = readLlamaHparams(await readGguf(devicePath));
        const weights = readSafetensors(path.join(outDir(), PEFT_WEIGHTS_FILE));
        const expected = new Map<string, number[]>();
        for (let layer = 0; layer < hp.blockCount; layer++) {
            for (const target of LORA_TARGETS) {
                const { inDim, outDim } = projectionShape(hp, target);
                expected.set(peftTensorName(layer, target, "A"), [blendRank, inDim]);
                expected.set(peftTensorName(layer, target, "B"), [outDim, blendRank]);
            }
        }
        expect(new Map(weights.tensors.map((t) => [t.name, t.shape]))).toEqual(expected);
        expect(weights.tensors.every((t) => t.dtype === "F32")).toBe(true);
        expect(weights.tensors[0]!.name).toBe("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
    });

    it("holds the same factors as the GGUF blend, q/k rows reordered back only in between", async () => {
        const ggufOut = path.join(dir, "blend.gguf");
        expect((await runCrayon(["blend", "--examples", examples, "--method", "uniform", "--out", ggufOut])).code).toBe(0);
        const back = path.join(dir, "blend-back.gguf");
        const imported = importPeftAdapter(outDir(), await readGguf(devicePath), back);
        expect(imported).toMatchObject({ alpha: blendRank, ranks: [blendRank], rescaled: 0 }); // the blend's α = 0 is scale 1, as is r/r
        const original = await ggufFactors(ggufOut);
        const roundTrip = await ggufFactors(back);
        expect([...roundTrip.keys()].sort()).toEqual([...original.keys()].sort());
        for (const [name, { dims, data }] of original) {
            expect(roundTrip.get(name)!.dims, name).toEqual(dims);
            expect(Buffer.from(roundTrip.get(name)!.data.buffer).equals(Buffer.from(data.buffer)), name).toBe(true);
        }
    });

    it("refuses a .gguf --out with one line", async () => {
        expectOneLineError(await runCrayon(["blend", "--examples", examples, "--method", "uniform", "--format", "peft", "--out", path.join(dir, "x.gguf")]), /--format peft writes a folder/);
        expect(existsSync(path.join(dir, "x.gguf"))).toBe(false);
    });
});

describe("crayon build-pool --from-peft", () => {
    let modelPath: string;
    let hp: LlamaHparams;
    const TARGETS: LoraTarget[] = ["q", "k", "v", "down"];

    beforeAll(async () => {
        modelPath = path.join(dir, "base.gguf");
        await writeTestModel(modelPath, 5);
        hp = readLlamaHparams(await readGguf(modelPath));
    });

    /** A PEFT folder for the test model: config fields and tensors changed by the case. */
    function peftFolder(name: string, fields: Record<string, unknown> = {}, edit: (tensors: ReturnType<typeof peftTensors>) => void = () => undefined): string {
        const tensors = peftTensors(randomPeftFactors(hp, TARGETS, () => 4, name.length * 31));
        edit(tensors);
        return writePeftFolder(path.join(dir, "peft", name), peftConfig({ target_modules: TARGETS.map((t) => HF_TARGET_MODULES[t].module), ...fields }), tensors);
    }

    it("converts each folder and assembles a pool that loads, named after the folders", async () => {
        const folders = [peftFolder("math-lora"), peftFolder("spelling-lora", { r: 4, lora_alpha: 16, use_rslora: true })];
        const data = [examples, examples];
        const out = path.join(dir, "peft-pool");
        const result = await runCrayon(["build-pool", "--from-peft", ...folders, "--adapter-data", ...data, "--base", modelPath, "--out", out]);
        expect(result.code, result.stderr).toBe(0);
        expect(result.stdout).toMatch(/^c00: math-lora \(rank 4, alpha 8, q,k,v,down\), centroid of 3 examples from examples\.jsonl$/m);
        expect(result.stdout).toMatch(/^c01: spelling-lora \(rank 4, alpha 32, q,k,v,down\)/m); // rsLoRA: 16/√4 = 8 = 32/4
        const pool = await loadPool(out, { baseModelPath: modelPath });
        const base = await readGguf(modelPath);
        for (const [i, folder] of folders.entries()) {
            const converted = path.join(dir, `converted-${i}.gguf`);
            importPeftAdapter(folder, base, converted);
            expect(await sha256File(pool.adapterPaths[i]!)).toBe(await sha256File(converted));
        }
    });

    const refusals: [string, () => string, RegExp][] = [
        ["DoRA in the config", () => peftFolder("dora", { use_dora: true }), /is a DoRA adapter \(use_dora: true\)/],
        ["a DoRA magnitude vector", () => peftFolder("dora-tensor", {}, (t) => t.push({ name: "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", dtype: "F32", shape: [32], data: new Float32Array(32) })), /lora_magnitude_vector is a DoRA magnitude vector/],
        ["modules_to_save", () => peftFolder("save", { modules_to_save: ["lm_head"] }), /saves whole modules besides the LoRA factors \(modules_to_save: \["lm_head"\]\)/],
        ["embedding LoRA in target_modules", () => peftFolder("embed", { target_modules: ["q_proj", "embed_tokens"] }), /targets embed_tokens: embedding LoRA is not supported/],
        ["an embedding LoRA tensor", () => peftFolder("embed-tensor", {}, (t) => t.push({ name: "base_model.model.model.embed_tokens.lora_embedding_A", dtype: "F32", shape: [4, 8], data: new Float32Array(32) })), /lora_embedding_A adapts the token embedding; embedding LoRA is not supported/],
        ["a target module the base lacks", () => peftFolder("fc1", { target_modules: ["q_proj", "fc1"] }), /targets fc1, a module a llama base model does not have/],
        ["a layer the base lacks", () => peftFolder("deep", {}, (t) => t.push(...peftTensors(randomPeftFactors({ ...hp, blockCount: 3 }, ["q"], () => 4)).filter((x) => x.name.includes("layers.2.")))), /adapts layer 2, but the base model base\.gguf has 2 layers/],
        ["a shape mismatch with the base", () => peftFolder("wide", {}, (t) => { t[0] = { ...t[0]!, shape: [4, 16], data: new Float32Array(64) }; }), /q_proj maps 16 → 32 but the base model base\.gguf's maps 32 → 32 — was the adapter trained for another base model/],
        ["a rank the config does not give", () => peftFolder("rank", { r: 8 }), /model\.layers\.0\.self_attn\.q_proj has rank 4 but adapter_config\.json gives it rank 8/],
        ["lm_head factors", () => peftFolder("head", {}, (t) => t.push({ name: "base_model.model.lm_head.lora_A.weight", dtype: "F32", shape: [4, 32], data: new Float32Array(128) })), /lm_head\.lora_A\.weight adapts lm_head/],
        ["another PEFT method", () => peftFolder("prefix", { peft_type: "PREFIX_TUNING" }), /peft_type is "PREFIX_TUNING"; only LoRA adapters/],
        ["a malformed safetensors file", () => {
            const folder = peftFolder("truncated");
            const file = path.join(folder, PEFT_WEIGHTS_FILE);
            writeFileSync(file, readFileSync(file).subarray(0, 200));
            return folder;
        }, /adapter_model\.safetensors: header of \d+ bytes runs past the end of the file/],
        ["pickled weights only", () => {
            const folder = path.join(dir, "peft", "pickle");
            mkdirSync(folder, { recursive: true });
            writeFileSync(path.join(folder, PEFT_CONFIG_FILE), JSON.stringify(peftConfig({})));
            writeFileSync(path.join(folder, "adapter_model.bin"), "");
            return folder;
        }, /has adapter_model\.bin \(pickled PyTorch\), which is not read/]
    ];

    it.each(refusals)("refuses %s with one line and writes no pool", async (_, make, pattern) => {
        const out = path.join(dir, "refused-pool");
        const folders = [peftFolder("good"), make()];
        const result = await runCrayon(["build-pool", "--from-peft", ...folders, "--adapter-data", examples, examples, "--base", modelPath, "--out", out]);
        expectOneLineError(result, pattern);
        expect(existsSync(out)).toBe(false);
    });

    it("refuses a folder without an examples file, naming the folder", async () => {
        const folder = peftFolder("alone");
        expectOneLineError(await runCrayon(["build-pool", "--from-peft", folder, "--base", modelPath, "--out", path.join(dir, "p")]), /peft\/alone: no examples file to compute its centroid from \(1 --from-peft, 0 --adapter-data\)/);
    });

    it("imports fan_in_fan_out adapters unchanged: PEFT turns it off for a llama's nn.Linear projections", async () => {
        const base = await readGguf(modelPath);
        const plain = importPeftAdapter(peftFolder("fan"), base, path.join(dir, "fan-off.gguf"));
        const flagged = importPeftAdapter(peftFolder("fan", { fan_in_fan_out: true }), base, path.join(dir, "fan-on.gguf"));
        expect(await sha256File(flagged.path)).toBe(await sha256File(plain.path));
    });

    it("gives the GGUF adapter the name saved in the safetensors metadata, else the folder's", async () => {
        const imported = await readGguf(importPeftAdapter(peftFolder("named"), await readGguf(modelPath), path.join(dir, "named.gguf")).path);
        expect(metadataString(imported, GgufKey.general.name)).toBe("named");
    });
});
