/**
 * A GGUF LoRA adapter → a PEFT adapter folder for the same llama in Hugging Face layout, as PEFT and vLLM
 * load it: `adapter_config.json` and `adapter_model.safetensors` (F32 factors under PEFT's names).
 *
 * vLLM applies one scale to every module, lora_alpha / r, and ignores rank_pattern / alpha_pattern; PEFT
 * honours them. So r is the largest rank, lora_alpha gives the largest-rank modules their llama.cpp scale,
 * and a module of another rank gets its rank in rank_pattern, an alpha in alpha_pattern that keeps PEFT's
 * scale at lora_alpha / r, and the rest of its llama.cpp scale folded into B — the two loaders then agree.
 * The common cases need no folding: a pool adapter (one rank, α > 0) and a blend (α = 0, scale 1).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { readAdapterFactors } from "../blend/adapterFactors.js";
import { CrayonError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { GgufKey, GgufValueType, LORA_TARGETS, loraTargetTensorKind, parseBlockTensorName } from "../gguf/constants.js";
import { GgufError } from "../gguf/errors.js";
import { readGguf } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { HF_TARGET_MODULES, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, hfModuleName, peftTensorName, permuteRopeRows, ropeHeads } from "./hfLayout.js";
import { hfCompatibleLlama } from "./llamaShapes.js";
import { peftConfigJson } from "./peftConfig.js";
import type { SafetensorInput } from "./safetensorsWriter.js";
import { writeSafetensors } from "./safetensorsWriter.js";

export interface ExportPeftOptions {
    /** the GGUF LoRA adapter */
    adapterPath: string;
    /** its base model, read: factors are checked against it and its head counts reorder q/k */
    base: GgufFile;
    /** the PEFT folder to write (created when missing; its two files are replaced) */
    outDir: string;
    /** `base_model_name_or_path`; default the base GGUF's general.name, else its file name */
    baseModelName?: string;
}

export interface ExportedPeftAdapter {
    outDir: string;
    r: number;
    loraAlpha: number;
    targetModules: string[];
    baseModelName: string;
    /** modules whose rank is not r (listed in rank_pattern) */
    otherRanks: number;
}

/** PEFT's own safetensors metadata, which transformers checks when it loads the file. */
const PYTORCH_FORMAT: Record<string, string> = { format: "pt" };

export async function exportPeftAdapter(options: ExportPeftOptions): Promise<ExportedPeftAdapter> {
    const { base, outDir } = options;
    const hp = hfCompatibleLlama(base);
    const adapter = readAdapterFactors(options.adapterPath, base);
    const modules = adapter.matrices.map((m) => {
        const block = parseBlockTensorName(m.baseName);
        const target = LORA_TARGETS.find((t) => block !== undefined && loraTargetTensorKind(t) === block.kind);
        if (target === undefined) {
            throw new GgufError(options.adapterPath, `adapts ${m.baseName}; only the block projections ${LORA_TARGETS.join(",")} can be exported to PEFT`);
        }
        return { ...m, layer: block!.layer, target };
    }).sort((x, y) => x.layer - y.layer || LORA_TARGETS.indexOf(x.target) - LORA_TARGETS.indexOf(y.target));

    const r = Math.max(...modules.map((m) => m.rank));
    const loraAlpha = adapter.alpha === 0 ? r : adapter.alpha;
    const scale = loraAlpha / r; // what vLLM applies to every module
    const rankPattern: Record<string, number> = {};
    const alphaPattern: Record<string, number> = {};
    const tensors: SafetensorInput[] = modules.flatMap((m) => {
        let b = m.b; // [out, rank], GGUF row order
        const heads = ropeHeads(m.target, hp.headCount, hp.headCountKv);
        if (heads !== undefined) b = permuteRopeRows(b, m.rank, heads, false);
        if (m.rank !== r) {
            const moduleName = hfModuleName(m.layer, m.target);
            rankPattern[moduleName] = m.rank;
            alphaPattern[moduleName] = scale * m.rank;
            const fold = m.scale / scale;
            if (fold !== 1) b = b.map((v) => v * fold);
        }
        return [
            { name: peftTensorName(m.layer, m.target, "A"), dtype: "F32", shape: [m.rank, m.inDim], data: m.a },
            { name: peftTensorName(m.layer, m.target, "B"), dtype: "F32", shape: [m.outDim, m.rank], data: b }
        ];
    });
    const targetModules = LORA_TARGETS.filter((t) => modules.some((m) => m.target === t)).map((t) => HF_TARGET_MODULES[t].module);
    const baseModelName = options.baseModelName ?? generalName(base) ?? path.basename(base.path);

    try {
        mkdirSync(outDir, { recursive: true });
    } catch (error) {
        throw new CrayonError(`${outDir}: cannot create the PEFT folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    // the adapter's name travels in the safetensors metadata, so an import back gives the same file
    const adapterName = generalName(await readGguf(options.adapterPath));
    const metadata = { ...PYTORCH_FORMAT, ...(adapterName === undefined ? {} : { [GgufKey.general.name]: adapterName }) };
    writeSafetensors(path.join(outDir, PEFT_WEIGHTS_FILE), tensors, metadata);
    writeFileAtomic(path.join(outDir, PEFT_CONFIG_FILE), [peftConfigJson({ r, loraAlpha, targetModules, baseModel: baseModelName, rankPattern, alphaPattern })]);
    return { outDir, r, loraAlpha, targetModules, baseModelName, otherRanks: Object.keys(rankPattern).length };
}

function generalName(file: GgufFile): string | undefined {
    const name = file.metadata.get(GgufKey.general.name);
    return name?.type === GgufValueType.STRING && name.value !== "" ? name.value : undefined;
}
