/**
 * GGUF reader: the header, metadata and tensor infos only, every length and offset checked against the file
 * before it is trusted. Tensor data is read one tensor at a time by `readTensorF32`. Parsing is synchronous
 * over bytes in memory; a file is read from its start in growing prefixes until its header fits.
 */
import { open, type FileHandle } from "node:fs/promises";
import {
    GGML_MAX_DIMS,
    GGML_MAX_NAME_BYTES,
    GGML_TYPE_LAYOUT,
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    GGUF_MIN_VERSION,
    GGUF_VERSION,
    GgmlType,
    GgufKey,
    GgufValueType,
    ggmlTypeName,
    isGgmlType
} from "./constants.js";
import { GgufError } from "./errors.js";
import { ByteCursor, HeaderPastBuffer } from "./byteCursor.js";
import { describeValueType } from "./metadata.js";
import { DECODABLE_TYPES, decodeToF32 } from "./numeric.js";
import type { GgufArray, GgufArrayItem, GgufFile, GgufMetadata, GgufTensorInfo, GgufValue } from "./types.js";

export {
    metadataArray,
    metadataBool,
    metadataNumber,
    metadataNumberArray,
    metadataString,
    metadataStringArray,
    metadataValue
} from "./metadata.js";

/** Far beyond any real model; a larger count means a corrupt header, not a big model. */
const MAX_TENSOR_COUNT = 1_000_000;
const MAX_KEY_COUNT = 1_000_000;
const MAX_ARRAY_NESTING = 8;
const TRUNCATED_HINT = "the file is incomplete; download or write it again";
/** First prefix read for a header: most fit, and a small adapter is not read whole just for its header. */
const FIRST_PREFIX_BYTES = 256 << 10;

const SCALAR_BYTES: Partial<Record<GgufValueType, number>> = {
    [GgufValueType.UINT8]: 1, [GgufValueType.INT8]: 1, [GgufValueType.BOOL]: 1,
    [GgufValueType.UINT16]: 2, [GgufValueType.INT16]: 2,
    [GgufValueType.UINT32]: 4, [GgufValueType.INT32]: 4, [GgufValueType.FLOAT32]: 4,
    [GgufValueType.UINT64]: 8, [GgufValueType.INT64]: 8, [GgufValueType.FLOAT64]: 8
};

/** Smallest encoding of one array item: a scalar's size, an empty string's length, an empty array's header. */
function minItemBytes(type: GgufValueType): number {
    if (type === GgufValueType.STRING) return 8;
    if (type === GgufValueType.ARRAY) return 12;
    return SCALAR_BYTES[type]!;
}

function isValueType(id: number): id is GgufValueType {
    return id in GgufValueType;
}

export function elementCount(dims: readonly number[]): number {
    return dims.reduce((product, dim) => product * dim, 1);
}

export async function readGguf(path: string): Promise<GgufFile> {
    const fail = (problem: string, hint?: string): never => {
        throw new GgufError(path, problem, hint);
    };
    const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) =>
        fail(`cannot open the file (${error.code ?? error.message})`)
    );
    try {
        const stat = await handle.stat();
        if (!stat.isFile()) fail("is not a regular file");
        let prefixBytes = Math.min(stat.size, FIRST_PREFIX_BYTES);
        for (;;) {
            const prefix = new Uint8Array(prefixBytes);
            await readFully(handle, prefix, 0, () => fail("file became shorter while it was read", "the file changed; read it again"));
            try {
                return readGgufBytes(path, prefix, stat.size);
            } catch (error) {
                if (!(error instanceof HeaderPastBuffer)) throw error;
                // at least double, so a long header is parsed O(log) times and read at most twice over
                prefixBytes = Math.min(stat.size, Math.max(2 * prefixBytes, error.bytesNeeded));
            }
        }
    } finally {
        await handle.close();
    }
}

/**
 * Like `readGguf`, for a file whose bytes are already in memory (a small adapter read whole): no second read.
 * `bytes` may be only the header of a file of `fileSize` bytes (one about to be written, say); a header
 * longer than `bytes` throws `HeaderPastBuffer`.
 */
export function readGgufBytes(path: string, bytes: Uint8Array, fileSize = bytes.length): GgufFile {
    const fail = (problem: string, hint?: string): never => {
        throw new GgufError(path, problem, hint);
    };
    const cursor = new ByteCursor(bytes, fileSize, (what) => fail(`file ends inside ${what} (the file has ${fileSize} bytes)`, TRUNCATED_HINT));
    return new HeaderParser(path, cursor, fail).parse();
}

class HeaderParser {
    constructor(
        private readonly path: string,
        private readonly cursor: ByteCursor,
        private readonly fail: (problem: string, hint?: string) => never
    ) {}

    parse(): GgufFile {
        const { cursor, fail } = this;
        cursor.need(4, "the magic number");
        const magic = cursor.u32();
        if (magic !== GGUF_MAGIC) {
            fail(`not a GGUF file (bad magic 0x${magic.toString(16).padStart(8, "0")}, expected "GGUF")`);
        }
        cursor.need(4, "the version");
        const version = cursor.u32();
        if (version > 0xffff && (version & 0xffff) === 0) fail("is a big-endian GGUF file, which is not supported");
        if (version < GGUF_MIN_VERSION || version > GGUF_VERSION) {
            fail(`unsupported GGUF version ${version} (supported: ${GGUF_MIN_VERSION} and ${GGUF_VERSION})`,
                "convert the model again with a current llama.cpp");
        }
        cursor.need(16, "the tensor and key counts");
        const tensorCount = this.checkCount(cursor.u64(), "tensor", MAX_TENSOR_COUNT);
        const keyCount = this.checkCount(cursor.u64(), "metadata key", MAX_KEY_COUNT);

        const metadata: GgufMetadata = new Map();
        for (let i = 0; i < keyCount; i++) {
            const key = this.readString(`the name of metadata key #${i}`);
            if (metadata.has(key)) fail(`duplicate metadata key ${key}`);
            cursor.need(4, `the type of key ${key}`);
            metadata.set(key, this.readValue(cursor.u32(), key));
        }
        const alignment = this.alignmentOf(metadata);

        const tensors: GgufTensorInfo[] = [];
        const names = new Set<string>();
        for (let i = 0; i < tensorCount; i++) {
            const tensor = this.readTensorInfo(i);
            if (names.has(tensor.name)) fail(`duplicate tensor name ${tensor.name}`);
            names.add(tensor.name);
            tensors.push(tensor);
        }
        const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
        this.checkTensorPlacement(tensors, alignment, dataOffset);
        return { path: this.path, version, alignment, metadata, tensors, dataOffset, fileSize: cursor.fileSize };
    }

    private checkCount(count: bigint, what: string, max: number): number {
        if (count > BigInt(max)) this.fail(`absurd ${what} count ${count} (more than ${max}); the header is corrupt`);
        return Number(count);
    }

    private readString(what: string): string {
        const { cursor } = this;
        cursor.need(8, `the length of ${what}`);
        const length = cursor.u64AsNumber(); // not a BigInt: a header has thousands of strings
        if (length > cursor.remaining) {
            this.fail(`file ends inside ${what}: its string length ${length} runs past the end of the file (${cursor.remaining} bytes left)`,
                TRUNCATED_HINT);
        }
        cursor.need(length, what);
        return cursor.utf8(length);
    }

    private readValue(type: number, key: string): GgufValue {
        if (type === GgufValueType.ARRAY) return this.readArray(key, 1);
        return { type, value: this.readScalar(type, key) } as GgufValue;
    }

    private readScalar(type: number, key: string): Exclude<GgufArrayItem, GgufArray> {
        const what = `the value of key ${key}`;
        if (type === GgufValueType.STRING) return this.readString(what);
        const size = SCALAR_BYTES[type as GgufValueType];
        if (size === undefined) this.fail(`unknown value type id ${type} for key ${key}`, "the file is corrupt or from a newer GGUF version");
        this.cursor.need(size!, what);
        return this.readLoadedScalar(type as GgufValueType, key);
    }

    /** A fixed-size scalar whose bytes `need` has already made readable. */
    private readLoadedScalar(type: GgufValueType, key: string): number | bigint | boolean {
        const { cursor } = this;
        switch (type) {
            case GgufValueType.UINT8: return cursor.u8();
            case GgufValueType.INT8: return cursor.i8();
            case GgufValueType.UINT16: return cursor.u16();
            case GgufValueType.INT16: return cursor.i16();
            case GgufValueType.UINT32: return cursor.u32();
            case GgufValueType.INT32: return cursor.i32();
            case GgufValueType.FLOAT32: return cursor.f32();
            case GgufValueType.UINT64: return cursor.u64();
            case GgufValueType.INT64: return cursor.i64();
            case GgufValueType.FLOAT64: return cursor.f64();
            default: {
                const byte = cursor.u8();
                if (byte > 1) this.fail(`bool value of key ${key} is ${byte} (must be 0 or 1)`);
                return byte === 1;
            }
        }
    }

    private readArray(key: string, depth: number): GgufArray {
        const { cursor } = this;
        if (depth > MAX_ARRAY_NESTING) this.fail(`arrays of key ${key} are nested more than ${MAX_ARRAY_NESTING} deep`);
        cursor.need(12, `the array header of key ${key}`);
        const itemType = cursor.u32();
        const length = cursor.u64();
        if (!isValueType(itemType)) this.fail(`unknown value type id ${itemType} in the array of key ${key}`, "the file is corrupt or from a newer GGUF version");
        if (length * BigInt(minItemBytes(itemType)) > BigInt(cursor.remaining)) {
            this.fail(`array length ${length} of key ${key} runs past the end of the file`, TRUNCATED_HINT);
        }
        const count = Number(length);
        const items: GgufArrayItem[] = [];
        const itemBytes = SCALAR_BYTES[itemType];
        if (itemBytes !== undefined) {
            // fixed-size items: one bounds check for the whole array, not one per item
            cursor.need(count * itemBytes, `the array of key ${key}`);
            for (let i = 0; i < count; i++) items.push(this.readLoadedScalar(itemType, key));
        } else {
            while (items.length < count) {
                items.push(itemType === GgufValueType.ARRAY ? this.readArray(key, depth + 1) : this.readString(`the value of key ${key}`));
            }
        }
        return { type: GgufValueType.ARRAY, itemType, items };
    }

    private alignmentOf(metadata: GgufMetadata): number {
        const value = metadata.get(GgufKey.general.alignment);
        if (!value) return GGUF_DEFAULT_ALIGNMENT;
        if (value.type !== GgufValueType.UINT32) {
            this.fail(`key ${GgufKey.general.alignment} is ${describeValueType(value)} but must be uint32`);
        }
        const alignment = value.value as number;
        if (alignment === 0 || (alignment & (alignment - 1)) !== 0) {
            this.fail(`key ${GgufKey.general.alignment} is ${alignment} but must be a power of two`);
        }
        return alignment;
    }

    private readTensorInfo(index: number): GgufTensorInfo {
        const { cursor, fail } = this;
        const name = this.readString(`the name of tensor #${index}`);
        if (name.length === 0) fail(`tensor #${index} has an empty name`);
        if (Buffer.byteLength(name) > GGML_MAX_NAME_BYTES) fail(`tensor name ${name} is longer than ${GGML_MAX_NAME_BYTES} bytes`);
        cursor.need(4, `the dimension count of tensor ${name}`);
        const dimCount = cursor.u32();
        if (dimCount === 0 || dimCount > GGML_MAX_DIMS) fail(`tensor ${name} has ${dimCount} dimensions (must be 1 to ${GGML_MAX_DIMS})`);
        cursor.need(8 * dimCount + 4 + 8, `the info of tensor ${name}`);
        const dims: number[] = [];
        for (let i = 0; i < dimCount; i++) dims.push(cursor.i64AsNumber());
        const typeId = cursor.u32();
        const offset = cursor.u64AsNumber();
        const shown = () => `[${dims.join(", ")}]`; // only for errors: a header has hundreds of tensors
        if (dims.some((dim) => dim <= 0)) fail(`tensor ${name} has a zero or negative dimension: dims ${shown()}`);
        if (!Number.isSafeInteger(elementCount(dims))) fail(`tensor ${name} has absurd dims ${shown()}`);
        if (!isGgmlType(typeId)) fail(`tensor ${name} has unknown ggml type id ${typeId}`, "the file is corrupt or needs a newer llama.cpp");
        const type = typeId as GgmlType;
        const { blockSize, blockBytes } = GGML_TYPE_LAYOUT[type];
        if (dims[0]! % blockSize !== 0) {
            fail(`tensor ${name} has row length ${dims[0]}, not a multiple of the ${ggmlTypeName(type)} block size ${blockSize}`);
        }
        const byteSize = (elementCount(dims) / blockSize) * blockBytes;
        return { name, type, dims, offset, byteSize };
    }

    private checkTensorPlacement(tensors: GgufTensorInfo[], alignment: number, dataOffset: number): void {
        const { fail } = this;
        const fileSize = this.cursor.fileSize;
        for (const tensor of tensors) {
            const end = dataOffset + tensor.offset + tensor.byteSize;
            if (end > fileSize) {
                fail(`tensor ${tensor.name} data ends at byte ${end}, past the end of the file (${fileSize} bytes)`, TRUNCATED_HINT);
            }
            if (tensor.offset % alignment !== 0) fail(`tensor ${tensor.name} has offset ${tensor.offset}, not a multiple of the alignment ${alignment}`);
        }
        const byOffset = [...tensors].sort((a, b) => a.offset - b.offset);
        for (let i = 1; i < byOffset.length; i++) {
            const previous = byOffset[i - 1]!;
            if (byOffset[i]!.offset < previous.offset + previous.byteSize) {
                fail(`tensors ${previous.name} and ${byOffset[i]!.name} overlap in the data section`);
            }
        }
    }
}

export function findTensor(file: GgufFile, name: string): GgufTensorInfo {
    const tensor = file.tensors.find((t) => t.name === name);
    if (!tensor) throw new GgufError(file.path, `has no tensor ${name}`);
    return tensor;
}

/** The tensor's elements as float32, in stored order (dims[0] fastest). F32, F16, BF16 and Q8_0 only, for now. */
export async function readTensorF32(file: GgufFile, nameOrInfo: string | GgufTensorInfo): Promise<Float32Array> {
    const tensor = typeof nameOrInfo === "string" ? findTensor(file, nameOrInfo) : nameOrInfo;
    if (!DECODABLE_TYPES.includes(tensor.type)) {
        throw new GgufError(file.path,
            `tensor ${tensor.name} is ${ggmlTypeName(tensor.type)}, which is not supported yet (supported: ${DECODABLE_TYPES.map(ggmlTypeName).join(", ")})`,
            "convert the model to F16 or Q8_0 with llama.cpp's llama-quantize");
    }
    const bytes = new Uint8Array(tensor.byteSize);
    const handle = await open(file.path, "r").catch((error: NodeJS.ErrnoException) => {
        throw new GgufError(file.path, `cannot open the file (${error.code ?? error.message})`);
    });
    try {
        await readFully(handle, bytes, file.dataOffset + tensor.offset, () => {
            throw new GgufError(file.path, `file ends inside the data of tensor ${tensor.name}`, "the file changed since it was read; read it again");
        });
    } finally {
        await handle.close();
    }
    return decodeToF32(tensor.type, bytes, elementCount(tensor.dims));
}

/** Fills `bytes` from `position` on; `ended` is called when the file ends first. */
async function readFully(handle: FileHandle, bytes: Uint8Array, position: number, ended: () => never): Promise<void> {
    let filled = 0;
    while (filled < bytes.length) {
        const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, position + filled);
        if (bytesRead === 0) ended();
        filled += bytesRead;
    }
}
