import * as tf from "@tensorflow/tfjs";
import {
    ADAPTER_TYPE_LORA, GENERAL_TYPE_ADAPTER, GgmlType, GgufKey, blockTensorName, loraATensorName, loraBTensorName,
    loraTargetTensorKind, LORA_TARGETS
} from "../gguf/constants.js";
import { gguf, metadataNumber } from "../gguf/metadata.js";
import { readTensorF32 } from "../gguf/reader.js";
import type { GgufFile, GgufMetadata, GgufValue } from "../gguf/types.js";
import { writeGguf, type GgufTensorInput } from "../gguf/writer.js";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import type { LoraStack } from "./lora.js";

export interface LoraAdapterToWrite {
    architecture: string;
    /** `adapter.lora.alpha`: llama.cpp applies s·(α/r)·B·A with r read per tensor */
    alpha: number;
    /** one factor per adapted weight; its scale is folded into B where it differs from α/r */
    stack: LoraStack;
    name: string;
    matrixType?: GgmlType.F32 | GgmlType.F16;
    extra?: Iterable<[string, GgufValue]>;
}

/**
 * A GGUF LoRA adapter. For W [out, in]: lora_a holds A [r, in] (ne [in, r]) and lora_b holds B [out, r]
 * (ne [r, out]); the tfjs factors are their transposes.
 */
export async function writeLoraAdapter(path: string, adapter: LoraAdapterToWrite): Promise<void> {
    const type = adapter.matrixType ?? GgmlType.F32;
    const tensors: GgufTensorInput[] = [];
    adapter.stack.forEach((block, layer) => {
        for (const target of LORA_TARGETS) {
            const factors = block[target];
            if (factors === undefined || factors.length === 0) continue;
            if (factors.length > 1) throw new Error(`layer ${layer} ${target}: concatenate the adapters before writing one file`);
            const { a, b, scale } = factors[0]!;
            const [inDim, rank] = a.shape;
            const outDim = b.shape[1];
            const fileScale = adapter.alpha === 0 ? 1 : adapter.alpha / rank;
            const baseName = blockTensorName(layer, loraTargetTensorKind(target));
            const [aRows, bRows] = tf.tidy(() => {
                const bScaled = scale === fileScale ? b : tf.mul(b, scale / fileScale);
                return [tf.transpose(a), tf.transpose(bScaled)];
            });
            tensors.push(
                { name: loraATensorName(baseName), type, dims: [inDim, rank], data: aRows.dataSync() as Float32Array },
                { name: loraBTensorName(baseName), type, dims: [rank, outDim], data: bRows.dataSync() as Float32Array }
            );
            tf.dispose([aRows, bRows]);
        }
    });
    writeGguf(path, { metadata: loraAdapterMetadata(adapter), tensors });
}

/** The metadata of a LoRA adapter file: what llama.cpp requires, then the caller's `extra` entries. */
export function loraAdapterMetadata(adapter: Pick<LoraAdapterToWrite, "architecture" | "alpha" | "name" | "extra">): GgufMetadata {
    return new Map([
        [GgufKey.general.architecture, gguf.str(adapter.architecture)],
        [GgufKey.general.type, gguf.str(GENERAL_TYPE_ADAPTER)],
        [GgufKey.general.name, gguf.str(adapter.name)],
        [GgufKey.adapter.type, gguf.str(ADAPTER_TYPE_LORA)],
        [GgufKey.adapter.loraAlpha, gguf.f32(adapter.alpha)],
        ...(adapter.extra ?? [])
    ]);
}

/**
 * Loads a (validated) adapter's factors as tfjs tensors, each with llama.cpp's effective scale
 * s·α/r (α = 0 means s).
 */
export async function readLoraAdapter(file: GgufFile, hp: LlamaHparams, scale = 1): Promise<LoraStack> {
    const alpha = metadataNumber(file, GgufKey.adapter.loraAlpha);
    const stack: LoraStack = Array.from({ length: hp.blockCount }, () => ({}));
    for (let layer = 0; layer < hp.blockCount; layer++) {
        for (const target of LORA_TARGETS) {
            const baseName = blockTensorName(layer, loraTargetTensorKind(target));
            const aInfo = file.tensors.find((t) => t.name === loraATensorName(baseName));
            const bInfo = file.tensors.find((t) => t.name === loraBTensorName(baseName));
            if (aInfo === undefined || bInfo === undefined) continue;
            const [inDim, rank] = aInfo.dims as [number, number];
            const outDim = bInfo.dims[1]!;
            const aRows = await readTensorF32(file, aInfo); // A [r, in]
            const bRows = await readTensorF32(file, bInfo); // B [out, r]
            const [a, b] = tf.tidy(() => [
                tf.transpose(tf.tensor2d(aRows, [rank, inDim])) as tf.Tensor2D,
                tf.transpose(tf.tensor2d(bRows, [outDim, rank])) as tf.Tensor2D
            ]);
            stack[layer]![target] = [{ a: a!, b: b!, scale: alpha === 0 ? scale : (scale * alpha) / rank }];
        }
    }
    return stack;
}
