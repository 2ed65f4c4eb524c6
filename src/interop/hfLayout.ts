/**
 * Hugging Face's names for a llama's projections, PEFT's names for their LoRA factors, and the one
 * difference in the weights themselves: the rows of q_proj and k_proj.
 *
 * Hugging Face's llama applies RoPE to the two halves of each head ("rotate half": dims i and i + hd/2
 * form a pair); llama.cpp's llama applies it to adjacent dims (2i, 2i + 1). llama.cpp's converter
 * therefore reorders the rows of q_proj and k_proj within each head: row h·hd + j·hd/2 + i of the
 * Hugging Face weight (j ∈ {0, 1}) becomes row h·hd + 2i + j of the GGUF weight, with the query heads for
 * q and the key/value heads for k. ΔW = B·A is a weight like any other, so a LoRA's B factor (whose rows
 * are ΔW's rows) takes the same reordering; A (columns) does not.
 */
import { LORA_TARGETS, type LoraTarget } from "../gguf/constants.js";

/** The files of a PEFT adapter directory. */
export const PEFT_CONFIG_FILE = "adapter_config.json";
export const PEFT_WEIGHTS_FILE = "adapter_model.safetensors";
/** The pickled form PEFT writes with safe_serialization=False; named only to refuse it clearly. */
export const PEFT_PICKLE_WEIGHTS_FILE = "adapter_model.bin";

/** PEFT's prefix of every saved tensor of a causal LM: its PeftModel wraps the LoRA model wrapping the base. */
export const PEFT_TENSOR_PREFIX = "base_model.model.";

/** The Hugging Face module each target adapts, under `model.layers.N.` */
export const HF_TARGET_MODULES: Readonly<Record<LoraTarget, { block: "self_attn" | "mlp"; module: string }>> = {
    q: { block: "self_attn", module: "q_proj" },
    k: { block: "self_attn", module: "k_proj" },
    v: { block: "self_attn", module: "v_proj" },
    o: { block: "self_attn", module: "o_proj" },
    gate: { block: "mlp", module: "gate_proj" },
    up: { block: "mlp", module: "up_proj" },
    down: { block: "mlp", module: "down_proj" }
};

export const HF_PROJECTION_NAMES: readonly string[] = LORA_TARGETS.map((target) => HF_TARGET_MODULES[target].module);

export function targetOfHfModule(module: string): LoraTarget | undefined {
    return LORA_TARGETS.find((target) => HF_TARGET_MODULES[target].module === module);
}

/** `model.layers.3.self_attn.q_proj`: the module's name in a Hugging Face LlamaForCausalLM. */
export function hfModuleName(layer: number, target: LoraTarget): string {
    const { block, module } = HF_TARGET_MODULES[target];
    return `model.layers.${layer}.${block}.${module}`;
}

/** `base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight`, as PEFT saves it. */
export function peftTensorName(layer: number, target: LoraTarget, factor: "A" | "B"): string {
    return `${PEFT_TENSOR_PREFIX}${hfModuleName(layer, target)}.lora_${factor}.weight`;
}

/** One LoRA factor's tensor name, taken apart. */
export interface PeftFactorName {
    layer: number;
    target: LoraTarget;
    factor: "A" | "B";
    /** the adapted module's name as PEFT matches rank_pattern / alpha_pattern against it */
    moduleName: string;
}

/**
 * Variants seen in saved adapters: with or without `base_model.model.`, with or without the inner
 * `model.`, and with the adapter's name before `.weight` when a raw state dict was saved.
 */
const FACTOR_NAME = /^(?:base_model\.model\.)?((?:model\.)?layers\.(0|[1-9]\d*)\.(self_attn|mlp)\.([a-z0-9_]+))\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/;

/**
 * What a saved tensor is: a factor of a llama projection; or, when it is not, the module it belongs to
 * (`module`) so the caller can say why it cannot be imported. undefined: not a LoRA factor name at all.
 */
export function parsePeftFactorName(name: string): PeftFactorName | { module: string } | undefined {
    const match = FACTOR_NAME.exec(name);
    if (match === null) return undefined;
    const [, moduleName, layer, block, module, factor] = match;
    const target = targetOfHfModule(module!);
    if (target === undefined || HF_TARGET_MODULES[target].block !== block) return { module: `${block}.${module}` };
    return { layer: Number(layer), target, factor: factor as "A" | "B", moduleName: moduleName! };
}

/** Whether the target's rows are reordered between the layouts, and over how many heads. */
export function ropeHeads(target: LoraTarget, headCount: number, headCountKv: number): number | undefined {
    if (target === "q") return headCount;
    if (target === "k") return headCountKv;
    return undefined;
}

/**
 * Rows of a row-major [heads·headDim, rowLength] matrix reordered from Hugging Face's layout to GGUF's
 * (`toGguf`) or back. A permutation: values are moved, never changed.
 */
export function permuteRopeRows(matrix: Float32Array, rowLength: number, heads: number, toGguf: boolean): Float32Array {
    const rows = matrix.length / rowLength;
    const headDim = rows / heads;
    if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new Error(`cannot split ${rows} rows into ${heads} heads of an even size`);
    const half = headDim / 2;
    const out = new Float32Array(matrix.length);
    for (let h = 0; h < heads; h++) {
        for (let j = 0; j < 2; j++) {
            for (let i = 0; i < half; i++) {
                const hfRow = h * headDim + j * half + i;
                const ggufRow = h * headDim + 2 * i + j;
                const [from, to] = toGguf ? [hfRow, ggufRow] : [ggufRow, hfRow];
                out.set(matrix.subarray(from * rowLength, (from + 1) * rowLength), to * rowLength);
            }
        }
    }
    return out;
}
