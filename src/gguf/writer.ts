/**
 * GGUF v3 writer, a straight line: header → metadata → tensor infos → aligned tensor data. The file appears
 * atomically: it is written to a temporary file in the same folder, synced, then renamed over `path`.
 */
import {
    GGML_MAX_DIMS,
    GGML_MAX_NAME_BYTES,
    GGML_TYPE_LAYOUT,
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GGUF_VERSION,
    GgmlType,
    GgufKey,
    GgufValueType
} from "./constants.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { GgufError } from "./errors.js";
import { gguf } from "./metadata.js";
import { encodeFromF32 } from "./numeric.js";
import type { GgufArray, GgufArrayItem, GgufMetadata, GgufValue } from "./types.js";

export { gguf } from "./metadata.js";

export interface GgufTensorInput {
    name: string;
    type: GgmlType.F32 | GgmlType.F16;
    /** ggml order (ne): a weight W [out, in] is written as dims [in, out] with its row-major data unchanged. */
    dims: number[];
    /** Row-major, dims[0] fastest; F16 tensors are rounded to nearest even. */
    data: Float32Array;
}

export interface GgufContent {
    metadata: GgufMetadata;
    tensors: readonly GgufTensorInput[];
}

export interface GgufWriteOptions {
    /** Bytes; a power of two. Default: `general.alignment` from the metadata, else 32. Written to the metadata when not 32. */
    alignment?: number;
}

/** Little-endian bytes appended to a growing buffer. */
class ByteWriter {
    private bytes = new Uint8Array(1 << 16);
    private view = new DataView(this.bytes.buffer);
    length = 0;

    /** Makes room for `count` more bytes; may replace `bytes` and `view`, so call it before reading them. */
    private ensure(count: number): void {
        if (this.length + count <= this.bytes.length) return;
        const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + count));
        grown.set(this.bytes.subarray(0, this.length));
        this.bytes = grown;
        this.view = new DataView(grown.buffer);
    }

    /** Offset of the next `count` bytes, which `ensure` made room for. */
    private take(count: number): number {
        const at = this.length;
        this.length += count;
        return at;
    }

    u8(value: number): void { this.ensure(1); this.view.setUint8(this.take(1), value); }
    i8(value: number): void { this.ensure(1); this.view.setInt8(this.take(1), value); }
    u16(value: number): void { this.ensure(2); this.view.setUint16(this.take(2), value, true); }
    i16(value: number): void { this.ensure(2); this.view.setInt16(this.take(2), value, true); }
    u32(value: number): void { this.ensure(4); this.view.setUint32(this.take(4), value, true); }
    i32(value: number): void { this.ensure(4); this.view.setInt32(this.take(4), value, true); }
    u64(value: bigint): void { this.ensure(8); this.view.setBigUint64(this.take(8), value, true); }
    i64(value: bigint): void { this.ensure(8); this.view.setBigInt64(this.take(8), value, true); }
    f32(value: number): void { this.ensure(4); this.view.setFloat32(this.take(4), value, true); }
    f64(value: number): void { this.ensure(8); this.view.setFloat64(this.take(8), value, true); }
    string(value: string): void {
        const encoded = Buffer.from(value, "utf8");
        this.u64(BigInt(encoded.length));
        this.ensure(encoded.length);
        this.bytes.set(encoded, this.take(encoded.length));
    }
    padTo(alignment: number): void {
        const padding = (alignment - (this.length % alignment)) % alignment;
        this.ensure(padding);
        this.take(padding); // the buffer is zero-filled
    }
    contents(): Uint8Array {
        return this.bytes.subarray(0, this.length);
    }
}

/**
 * The file's bytes as a sequence of chunks: header, then each tensor's data (encoded lazily, one tensor at a
 * time) and its alignment padding. `path` only names the file in errors.
 */
export function encodeGguf(path: string, content: GgufContent, options: GgufWriteOptions = {}): Iterable<Uint8Array> {
    const fail = (problem: string): never => {
        throw new GgufError(path, `cannot write: ${problem}`);
    };
    const metadata = withAlignment(content.metadata, options.alignment, fail);
    const alignment = options.alignment ?? storedAlignment(content.metadata) ?? GGUF_DEFAULT_ALIGNMENT;
    const byteSizes = content.tensors.map((tensor) => checkedByteSize(tensor, fail));

    const header = new ByteWriter();
    header.u32(GGUF_MAGIC);
    header.u32(GGUF_VERSION);
    header.u64(BigInt(content.tensors.length));
    header.u64(BigInt(metadata.size));
    for (const [key, value] of metadata) {
        header.string(key);
        header.u32(value.type);
        writeValue(header, value, key, fail);
    }
    let offset = 0; // bytes from the data section start
    content.tensors.forEach((tensor, i) => {
        header.string(tensor.name);
        header.u32(tensor.dims.length);
        for (const dim of tensor.dims) header.u64(BigInt(dim));
        header.u32(tensor.type);
        header.u64(BigInt(offset));
        offset = alignUp(offset + byteSizes[i]!, alignment);
    });
    header.padTo(alignment);

    return (function* chunks(): Generator<Uint8Array> {
        yield header.contents();
        for (const tensor of content.tensors) {
            const data = encodeFromF32(tensor.type, tensor.data);
            yield data;
            yield new Uint8Array(alignUp(data.length, alignment) - data.length);
        }
    })();
}

export function writeGguf(path: string, content: GgufContent, options: GgufWriteOptions = {}): void {
    writeGgufChunks(path, encodeGguf(path, content, options));
}

/** Writes what `encodeGguf` produced, atomically (see writeFileAtomic for `durable`); a failure names the file. */
export function writeGgufChunks(path: string, chunks: Iterable<Uint8Array>, options: { durable?: boolean } = {}): void {
    try {
        writeFileAtomic(path, chunks, options);
    } catch (error) {
        if (error instanceof GgufError) throw error;
        throw new GgufError(path, `cannot write: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
}

function alignUp(value: number, alignment: number): number {
    return Math.ceil(value / alignment) * alignment;
}

function storedAlignment(metadata: GgufMetadata): number | undefined {
    const stored = metadata.get(GgufKey.general.alignment);
    return stored?.type === GgufValueType.UINT32 ? stored.value : undefined;
}

/** The metadata to write: `general.alignment` set when the option asks for a non-default alignment. */
function withAlignment(metadata: GgufMetadata, requested: number | undefined, fail: (problem: string) => never): GgufMetadata {
    const key = GgufKey.general.alignment;
    const stored = metadata.get(key);
    if (stored && stored.type !== GgufValueType.UINT32) fail(`${key} must be a uint32`);
    const alignment = requested ?? storedAlignment(metadata) ?? GGUF_DEFAULT_ALIGNMENT;
    if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
        fail(`alignment ${alignment} is not a power of two`);
    }
    if (stored && stored.value !== alignment) fail(`alignment option ${alignment} contradicts ${key} = ${stored.value}`);
    if (stored || alignment === GGUF_DEFAULT_ALIGNMENT) return metadata;
    return new Map([...metadata, [key, gguf.u32(alignment)]]);
}

/** Bytes of the tensor's data once encoded, after checking what the writer can encode. */
function checkedByteSize(tensor: GgufTensorInput, fail: (problem: string) => never): number {
    const { name, dims, type, data } = tensor;
    if (name.length === 0 || Buffer.byteLength(name) > GGML_MAX_NAME_BYTES) fail(`tensor name "${name}" must be 1 to ${GGML_MAX_NAME_BYTES} bytes`);
    if (dims.length === 0 || dims.length > GGML_MAX_DIMS || dims.some((dim) => !Number.isSafeInteger(dim) || dim <= 0)) {
        fail(`tensor ${name} has dims [${dims.join(", ")}]; need 1 to ${GGML_MAX_DIMS} positive integers`);
    }
    const count = dims.reduce((product, dim) => product * dim, 1);
    if (data.length !== count) fail(`tensor ${name} has ${data.length} values but dims [${dims.join(", ")}] need ${count}`);
    if (type !== GgmlType.F32 && type !== GgmlType.F16) fail(`tensor ${name}: only F32 and F16 can be written`);
    return count * GGML_TYPE_LAYOUT[type].blockBytes;
}

function writeValue(out: ByteWriter, value: GgufValue, key: string, fail: (problem: string) => never): void {
    if (value.type === GgufValueType.ARRAY) writeArray(out, value, key, fail);
    else writeScalar(out, value.type, value.value, key, fail);
}

function writeArray(out: ByteWriter, array: GgufArray, key: string, fail: (problem: string) => never): void {
    out.u32(array.itemType);
    out.u64(BigInt(array.items.length));
    for (const item of array.items) {
        if (array.itemType === GgufValueType.ARRAY) {
            if (typeof item !== "object") fail(`key ${key}: an array of arrays holds a non-array item`);
            writeArray(out, item as GgufArray, key, fail);
        } else {
            writeScalar(out, array.itemType, item, key, fail);
        }
    }
}

/** Inclusive ranges of the integer types; DataView would silently wrap anything outside. */
const INTEGER_RANGE: Partial<Record<GgufValueType, readonly [bigint, bigint]>> = {
    [GgufValueType.UINT8]: [0n, 0xffn],
    [GgufValueType.INT8]: [-0x80n, 0x7fn],
    [GgufValueType.UINT16]: [0n, 0xffffn],
    [GgufValueType.INT16]: [-0x8000n, 0x7fffn],
    [GgufValueType.UINT32]: [0n, 0xffffffffn],
    [GgufValueType.INT32]: [-0x80000000n, 0x7fffffffn],
    [GgufValueType.UINT64]: [0n, 0xffffffffffffffffn],
    [GgufValueType.INT64]: [-0x8000000000000000n, 0x7fffffffffffffffn]
};

function writeScalar(out: ByteWriter, type: GgufValueType, item: GgufArrayItem, key: string, fail: (problem: string) => never): void {
    const expected = type === GgufValueType.STRING ? "string"
        : type === GgufValueType.BOOL ? "boolean"
            : type === GgufValueType.UINT64 || type === GgufValueType.INT64 ? "bigint" : "number";
    const typeName = GgufValueType[type] ?? `type ${type}`;
    if (typeof item !== expected) fail(`key ${key}: a ${typeName} value must be a ${expected}, got ${typeof item}`);
    const range = INTEGER_RANGE[type];
    if (range && (typeof item === "number" && !Number.isInteger(item) || BigInt(item as number | bigint) < range[0] || BigInt(item as number | bigint) > range[1])) {
        fail(`key ${key}: ${String(item)} is not a ${typeName}`);
    }
    switch (type) {
        case GgufValueType.UINT8: return out.u8(item as number);
        case GgufValueType.INT8: return out.i8(item as number);
        case GgufValueType.UINT16: return out.u16(item as number);
        case GgufValueType.INT16: return out.i16(item as number);
        case GgufValueType.UINT32: return out.u32(item as number);
        case GgufValueType.INT32: return out.i32(item as number);
        case GgufValueType.FLOAT32: return out.f32(item as number);
        case GgufValueType.BOOL: return out.u8(item ? 1 : 0);
        case GgufValueType.STRING: return out.string(item as string);
        case GgufValueType.UINT64: return out.u64(item as bigint);
        case GgufValueType.INT64: return out.i64(item as bigint);
        case GgufValueType.FLOAT64: return out.f64(item as number);
        default: fail(`key ${key}: unknown value type ${type}`);
    }
}
