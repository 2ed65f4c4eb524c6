import { blockTensorName, LORA_TARGETS, loraTargetTensorKind, TensorName, type LoraTarget } from "../../gguf/constants.js";
import { readTensorF32 } from "../../gguf/reader.js";
import type { GgufFile } from "../../gguf/types.js";
import type { LlamaHparams } from "../../gguf/llamaHparams.js";
import { GgmlTensorType, type GgmlFunctions, type Pointer } from "./library.js";
import type { ModelTensors } from "./llamaGraph.js";

/**
 * A tensor the optimizer owns, with how it maps to the tfjs engine's variable of the same position:
 * checkpoints and gradients are exchanged in the tfjs layout, so a run may change engine on --resume.
 */
export interface TrainableTensor {
    tensor: Pointer;
    ne: number[]; // ggml shape
    /** the tfjs variable holds the transpose (matrices [in, out] against GGUF's ne [in, out] = rows of out) */
    transposed: boolean;
    /** AdamW's decoupled decay applies (tfjs: variables of rank ≥ 2) */
    decay: boolean;
}

export interface LoraSpec {
    targets: LoraTarget[];
    rank: number;
    alpha: number;
    /** initial factors in the order of src/model/lora.ts's initLora variables: per layer, per target, a [in, r] then b [r, out] */
    factors: Float32Array[];
}

/** Tensors made in a no-alloc context and the values to upload once the context is allocated. */
export interface ModelLayout {
    model: ModelTensors;
    trainable: TrainableTensor[];
    uploads: [Pointer, Float32Array][];
}

/** Transposes a row-major [rows, cols] matrix. */
export function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
    const out = new Float32Array(values.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
    return out;
}

/**
 * Creates the model's tensors in `context` (F32, whatever the file stores) from a llama GGUF, in the
 * order of the tfjs engine's variables: full mode trains every weight (token_embd, per block the two
 * norms then q, k, v, o, gate, up, down, output_norm, output); LoRA mode trains only the factors.
 */
export async function modelLayout(fn: GgmlFunctions, context: Pointer, file: GgufFile, hp: LlamaHparams, lora: LoraSpec | null): Promise<ModelLayout> {
    const trainable: TrainableTensor[] = [];
    const uploads: [Pointer, Float32Array][] = [];
    const full = lora === null;
    const tensor = (name: string, ne: number[], values: Float32Array, trains: boolean, transposed: boolean): Pointer => {
        const t = (ne.length === 1 ? fn.newTensor1d(context, GgmlTensorType.F32, ne[0]) : fn.newTensor2d(context, GgmlTensorType.F32, ne[0], ne[1])) as Pointer;
        fn.setName(t, name.slice(0, 63));
        uploads.push([t, values]);
        if (trains) {
            fn.setParam(t);
            trainable.push({ tensor: t, ne, transposed, decay: ne.length >= 2 });
        }
        return t;
    };
    const d = hp.embeddingLength;
    const weight = async (name: string, ne: number[], transposed: boolean): Promise<Pointer> => tensor(name, ne, await readTensorF32(file, name), full, transposed);
    const tokenEmbd = await weight(TensorName.tokenEmbd, [d, hp.vocabSize], false);
    const factors = lora?.factors.values();
    const blocks: ModelTensors["blocks"] = [];
    for (let layer = 0; layer < hp.blockCount; layer++) {
        const attnNorm = await weight(blockTensorName(layer, "attn_norm"), [d], false);
        const ffnNorm = await weight(blockTensorName(layer, "ffn_norm"), [d], false);
        const projections = {} as Record<LoraTarget, Pointer>;
        const shapes = {} as Record<LoraTarget, [number, number]>;
        for (const target of LORA_TARGETS) {
            const name = blockTensorName(layer, loraTargetTensorKind(target));
            const info = file.tensors.find((t) => t.name === name);
            if (info === undefined || info.dims.length !== 2) throw new Error(`${file.path}: ${name} is missing or not a matrix`);
            shapes[target] = [info.dims[0]!, info.dims[1]!];
            projections[target] = await weight(name, shapes[target], true);
        }
        const blockLora: ModelTensors["blocks"][number]["lora"] = {};
        for (const target of lora?.targets ?? []) {
            const [inDim, outDim] = shapes[target];
            const a = factors!.next().value; // tfjs [in, r]
            const b = factors!.next().value; // tfjs [r, out]
            if (a?.length !== inDim * lora!.rank || b?.length !== lora!.rank * outDim) throw new Error(`LoRA factors for layer ${layer} ${target} have the wrong size`);
            blockLora[target] = {
                a: tensor(`lora.${layer}.${target}.a`, [inDim, lora!.rank], transpose(a, inDim, lora!.rank), true, true),
                b: tensor(`lora.${layer}.${target}.b`, [lora!.rank, outDim], transpose(b, lora!.rank, outDim), true, true),
                scale: lora!.alpha / lora!.rank
            };
        }
        blocks.push({ attnNorm, ffnNorm, projections, lora: blockLora });
    }
    const outputNorm = await weight(TensorName.outputNorm, [d], false);
    const output = hp.tiedOutput ? null : await weight(TensorName.output, [d, hp.vocabSize], true);
    return { model: { tokenEmbd, blocks, outputNorm, output }, trainable, uploads };
}
