import type { GgmlType, GgufValueType } from "./constants.js";

type Tagged<T extends GgufValueType, V> = { type: T; value: V };

/** An array value; `items` of a nested array (itemType ARRAY) are themselves `GgufArray`s. */
export interface GgufArray {
    type: GgufValueType.ARRAY;
    itemType: GgufValueType;
    items: GgufArrayItem[];
}
export type GgufArrayItem = number | bigint | boolean | string | GgufArray;

/** A metadata value tagged with its exact GGUF type, so a read-then-write keeps every type. 64-bit integers are bigints. */
export type GgufValue =
    | Tagged<GgufValueType.UINT8, number>
    | Tagged<GgufValueType.INT8, number>
    | Tagged<GgufValueType.UINT16, number>
    | Tagged<GgufValueType.INT16, number>
    | Tagged<GgufValueType.UINT32, number>
    | Tagged<GgufValueType.INT32, number>
    | Tagged<GgufValueType.FLOAT32, number>
    | Tagged<GgufValueType.BOOL, boolean>
    | Tagged<GgufValueType.STRING, string>
    | Tagged<GgufValueType.UINT64, bigint>
    | Tagged<GgufValueType.INT64, bigint>
    | Tagged<GgufValueType.FLOAT64, number>
    | GgufArray;

/** Keys in file order. */
export type GgufMetadata = Map<string, GgufValue>;

export interface GgufTensorInfo {
    name: string;
    type: GgmlType;
    /** ggml order (ne): dims[0] varies fastest (the row length); a weight W [out, in] has dims [in, out]. */
    dims: number[];
    /** Bytes from the start of the data section. */
    offset: number;
    /** Bytes the tensor's data takes. */
    byteSize: number;
}

export interface GgufFile {
    /** As given by the caller; used in every error message. */
    path: string;
    version: number;
    /** Bytes; data section start and every tensor offset are multiples of it. */
    alignment: number;
    metadata: GgufMetadata;
    tensors: GgufTensorInfo[];
    /** Absolute byte offset of the data section. */
    dataOffset: number;
    /** Bytes, when the header was read. */
    fileSize: number;
}
