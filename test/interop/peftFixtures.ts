/** PEFT adapter folders as PEFT saves them, for the import tests. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { LoraTarget } from "../../src/gguf/constants.js";
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, peftTensorName } from "../../src/interop/hfLayout.js";
import { projectionShape } from "../../src/interop/llamaShapes.js";
import type { FactorDtype } from "../../src/interop/safetensors.js";
import { writeSafetensors, type SafetensorInput } from "../../src/interop/safetensorsWriter.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import { pseudoRandom } from "../gguf/tinyModel.js";

/** One module's factors in PEFT's layout: A [rank, in], B [out, rank]. */
export interface PeftFactors {
    layer: number;
    target: LoraTarget;
    rank: number;
    a: Float32Array;
    b: Float32Array;
}

/** Random factors (B non-zero, as after training) for every layer × target, with each module's rank. */
export function randomPeftFactors(hp: LlamaHparams, targets: readonly LoraTarget[], rankOf: (layer: number, target: LoraTarget) => number, seed = 500): PeftFactors[] {
    let next = seed;
    return Array.from({ length: hp.blockCount }, (_, layer) => targets.map((target) => {
        const { inDim, outDim } = projectionShape(hp, target);
        const rank = rankOf(layer, target);
        return { layer, target, rank, a: pseudoRandom(rank * inDim, next++, 0.2), b: pseudoRandom(outDim * rank, next++, 0.2) };
    })).flat();
}

export function peftTensors(factors: readonly PeftFactors[], dtype: FactorDtype = "F32"): SafetensorInput[] {
    return factors.flatMap(({ layer, target, rank, a, b }) => [
        { name: peftTensorName(layer, target, "A"), dtype, shape: [rank, a.length / rank], data: a },
        { name: peftTensorName(layer, target, "B"), dtype, shape: [b.length / rank, rank], data: b }
    ]);
}

/** Writes `adapter_config.json` (config as given) and `adapter_model.safetensors`. */
export function writePeftFolder(dir: string, config: Record<string, unknown>, tensors: readonly SafetensorInput[]): string {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, PEFT_CONFIG_FILE), JSON.stringify(config, null, 2));
    writeSafetensors(path.join(dir, PEFT_WEIGHTS_FILE), tensors, { format: "pt" });
    return dir;
}

export const ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

/** A config as PEFT writes it for a causal LM. */
export function peftConfig(fields: Record<string, unknown>): Record<string, unknown> {
    return {
        peft_type: "LORA", task_type: "CAUSAL_LM", base_model_name_or_path: "tiny-hf-llama", r: 4, lora_alpha: 8,
        target_modules: ALL_PROJECTIONS, lora_dropout: 0.05, bias: "none", fan_in_fan_out: false, use_rslora: false,
        use_dora: false, modules_to_save: null, rank_pattern: {}, alpha_pattern: {}, ...fields
    };
}
