/**
 * Element formats: float32 ↔ float16 / bfloat16 bit patterns, and decoding of stored tensor bytes to float32.
 * Tensor data is little-endian; typed-array views assume a little-endian host, as every Node platform is.
 */
import { GgmlType } from "./constants.js";

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** IEEE binary16 bits of `value`, rounded to nearest even; overflow gives ±inf, NaN stays NaN (quiet). */
export function f32ToF16Bits(value: number): number {
    scratchF32[0] = value;
    const bits = scratchU32[0]!;
    const sign = (bits >>> 16) & 0x8000;
    const exponent = (bits >>> 23) & 0xff;
    const mantissa = bits & 0x7fffff;
    if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
    const halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1f) return sign | 0x7c00;
    if (halfExponent <= 0) {
        // Below 2^-25 even round-to-nearest gives zero.
        if (halfExponent < -10) return sign;
        const full = mantissa | 0x800000;
        const shift = 14 - halfExponent;
        return sign | roundShift(full, shift);
    }
    // A carry out of the mantissa correctly bumps the exponent (up to inf).
    return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
    const kept = value >>> shift;
    const rest = value & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

export function f16BitsToF32(bits: number): number {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >>> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) return sign * mantissa * 2 ** -24;
    if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
    return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** The float16 value nearest to `value`, as a float32. */
export function roundToF16(value: number): number {
    return f16BitsToF32(f32ToF16Bits(value));
}

/** bfloat16 bits of `value`: the top half of the float32, rounded to nearest even; NaN stays NaN (quiet). */
export function f32ToBf16Bits(value: number): number {
    scratchF32[0] = value;
    const bits = scratchU32[0]!;
    if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
    return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
    scratchU32[0] = bits << 16;
    return scratchF32[0]!;
}

let f16Table: Float32Array | undefined;

/** All 65536 float16 values, built once: decoding a large tensor is then one lookup per element. */
function f16DecodeTable(): Float32Array {
    if (!f16Table) {
        f16Table = new Float32Array(65536);
        for (let bits = 0; bits < 65536; bits++) f16Table[bits] = f16BitsToF32(bits);
    }
    return f16Table;
}

/** Types `decodeToF32` (and so `readTensorF32`) can read. */
export const DECODABLE_TYPES: readonly GgmlType[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0];

const Q8_0_BLOCK = 32; // elements
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK; // f16 scale, then 32 int8

/**
 * Decodes `count` elements stored as `type`; `bytes` must hold exactly their data.
 * Callers check `DECODABLE_TYPES` first; other types throw a plain Error.
 */
export function decodeToF32(type: GgmlType, bytes: Uint8Array, count: number): Float32Array {
    // Copy into a fresh buffer so the typed views below are aligned.
    const own = new Uint8Array(bytes);
    const out = new Float32Array(count);
    switch (type) {
        case GgmlType.F32:
            out.set(new Float32Array(own.buffer, 0, count));
            return out;
        case GgmlType.F16: {
            const table = f16DecodeTable();
            const halves = new Uint16Array(own.buffer, 0, count);
            for (let i = 0; i < count; i++) out[i] = table[halves[i]!]!;
            return out;
        }
        case GgmlType.BF16: {
            const halves = new Uint16Array(own.buffer, 0, count);
            const outBits = new Uint32Array(out.buffer);
            for (let i = 0; i < count; i++) outBits[i] = halves[i]! << 16;
            return out;
        }
        case GgmlType.Q8_0: {
            const table = f16DecodeTable();
            const view = new DataView(own.buffer);
            const quants = new Int8Array(own.buffer);
            for (let block = 0; block < count / Q8_0_BLOCK; block++) {
                const start = block * Q8_0_BLOCK_BYTES;
                const scale = table[view.getUint16(start, true)]!;
                for (let j = 0; j < Q8_0_BLOCK; j++) out[block * Q8_0_BLOCK + j] = scale * quants[start + 2 + j]!;
            }
            return out;
        }
        default:
            throw new Error(`cannot decode ggml type ${GgmlType[type]}`);
    }
}

/** Bytes of `data` stored as F32 (a view of `data` itself, not a copy) or F16 (the types the writer produces). */
export function encodeFromF32(type: GgmlType.F32 | GgmlType.F16, data: Float32Array): Uint8Array {
    if (type === GgmlType.F32) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const halves = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) halves[i] = f32ToF16Bits(data[i]!);
    return new Uint8Array(halves.buffer);
}
