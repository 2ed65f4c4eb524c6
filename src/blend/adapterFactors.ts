import { readFileSync } from "node:fs";
import { GgmlType, TensorName, loraATensorName, loraBTensorName } from "../gguf/constants.js";
import { GgufError } from "../gguf/errors.js";
import { decodeToF32 } from "../gguf/numeric.js";
import { readGgufBytes } from "../gguf/reader.js";
import type { GgufFile, GgufTensorInfo } from "../gguf/types.js";
import { validateLoraAdapter } from "../gguf/validate.js";

/**
 * One adapted weight W [out, in] of one adapter as plain row-major arrays: ΔW = scale · B·A.
 * Row-major A [rank, in] is exactly the bytes of lora_a (ne [in, rank]); B [out, rank] those of lora_b.
 */
export interface LoraMatrixFactors {
    /** the adapted base tensor, e.g. "blk.0.attn_q.weight" */
    baseName: string;
    rank: number;
    inDim: number;
    outDim: number;
    a: Float32Array; // [rank, in]
    b: Float32Array; // [out, rank]
    /** llama.cpp's factor at adapter scale 1: α/r, or 1 when α = 0 */
    scale: number;
}

/** A LoRA adapter file decoded once into float32 factors, in the file's tensor order. */
export interface AdapterFactors {
    path: string;
    alpha: number;
    matrices: LoraMatrixFactors[];
}

/**
 * Reads a LoRA adapter's header, validates it (against `base` when given) and decodes every factor from a
 * single read of the whole file (F32 factors are views into it). token_embd adapters are refused: their factors are laid out for a lookup, not a
 * product, and blending them is not supported.
 */
export function readAdapterFactors(path: string, base?: GgufFile): AdapterFactors {
    let bytes: Buffer;
    try {
        bytes = readFileSync(path); // synchronous: a small file, and a thread-pool round trip costs more than the read
    } catch (error) {
        throw new GgufError(path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const file = readGgufBytes(path, bytes);
    const info = validateLoraAdapter(file, base);
    const decode = (tensor: GgufTensorInfo, count: number): Float32Array => {
        const start = bytes.byteOffset + file.dataOffset + tensor.offset;
        // F32 data is aligned (GGUF alignment is a multiple of 4): view it in place instead of copying
        if (tensor.type === GgmlType.F32 && start % 4 === 0) return new Float32Array(bytes.buffer, start, count);
        return decodeToF32(tensor.type, bytes.subarray(start - bytes.byteOffset, start - bytes.byteOffset + tensor.byteSize), count);
    };
    const matrices: LoraMatrixFactors[] = [];
    for (const [baseName, shape] of Object.entries(info.targets)) {
        if (baseName === TensorName.tokenEmbd) {
            throw new GgufError(path, `adapts ${baseName}, which blending does not support`, "build the pool without token_embd adapters");
        }
        const aInfo = file.tensors.find((t) => t.name === loraATensorName(baseName))!;
        const bInfo = file.tensors.find((t) => t.name === loraBTensorName(baseName))!;
        matrices.push({
            baseName,
            rank: shape.rank,
            inDim: shape.in,
            outDim: shape.out,
            a: decode(aInfo, shape.rank * shape.in),
            b: decode(bInfo, shape.out * shape.rank),
            scale: info.alpha === 0 ? 1 : info.alpha / shape.rank
        });
    }
    return { path, alpha: info.alpha, matrices };
}
