/**
 * safetensors writer, a straight line: header length → JSON header (padded with spaces to a multiple of
 * 8 bytes, so F32 data starts aligned) → each tensor's data in header order. Written atomically.
 */
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { GgmlType } from "../gguf/constants.js";
import { encodeFromF32, f32ToBf16Bits } from "../gguf/numeric.js";
import { FACTOR_DTYPES, SafetensorsError, type FactorDtype } from "./safetensors.js";

export interface SafetensorInput {
    name: string;
    dtype: FactorDtype;
    /** row-major, outermost first */
    shape: number[];
    data: Float32Array;
}

const HEADER_ALIGNMENT = 8; // bytes

/** The file's bytes as chunks: header, then every tensor's encoded data. `path` only names the file in errors. */
export function encodeSafetensors(path: string, tensors: readonly SafetensorInput[], metadata: Record<string, string> = {}): Uint8Array[] {
    const header: Record<string, unknown> = Object.keys(metadata).length > 0 ? { __metadata__: metadata } : {};
    const data: Uint8Array[] = [];
    let offset = 0;
    for (const { name, dtype, shape, data: values } of tensors) {
        if (Object.hasOwn(header, name)) throw new SafetensorsError(path, `cannot write: tensor ${name} is given twice`);
        const count = shape.reduce((product, dim) => product * dim, 1);
        if (count !== values.length) throw new SafetensorsError(path, `cannot write: tensor ${name} has ${values.length} values but shape [${shape.join(", ")}] needs ${count}`);
        const bytes = encodeFactor(dtype, values);
        header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
        data.push(bytes);
        offset += bytes.length;
    }
    let json = JSON.stringify(header);
    json += " ".repeat((HEADER_ALIGNMENT - (Buffer.byteLength(json) % HEADER_ALIGNMENT)) % HEADER_ALIGNMENT);
    const headerBytes = Buffer.from(json, "utf8");
    const length = new Uint8Array(8);
    new DataView(length.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    return [length, headerBytes, ...data];
}

export function writeSafetensors(path: string, tensors: readonly SafetensorInput[], metadata: Record<string, string> = {}): void {
    const chunks = encodeSafetensors(path, tensors, metadata);
    try {
        writeFileAtomic(path, chunks);
    } catch (error) {
        throw new SafetensorsError(path, `cannot write: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
}

function encodeFactor(dtype: FactorDtype, values: Float32Array): Uint8Array {
    const type = FACTOR_DTYPES[dtype];
    if (type !== GgmlType.BF16) return encodeFromF32(type, values);
    const halves = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) halves[i] = f32ToBf16Bits(values[i]!);
    return new Uint8Array(halves.buffer);
}
