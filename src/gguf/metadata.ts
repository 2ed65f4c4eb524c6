/**
 * Building metadata values without spelling type tags, and reading them back with errors that name the
 * file and the key.
 */
import { GgufValueType } from "./constants.js";
import { GgufError } from "./errors.js";
import type { GgufArray, GgufArrayItem, GgufFile, GgufValue } from "./types.js";

/** Typed constructors: `gguf.u32(5)`, `gguf.str("llama")`, `gguf.arr(GgufValueType.STRING, ["a"])`. */
export const gguf = {
    u8: (value: number): GgufValue => ({ type: GgufValueType.UINT8, value }),
    i8: (value: number): GgufValue => ({ type: GgufValueType.INT8, value }),
    u16: (value: number): GgufValue => ({ type: GgufValueType.UINT16, value }),
    i16: (value: number): GgufValue => ({ type: GgufValueType.INT16, value }),
    u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
    i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
    f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
    bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
    str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
    u64: (value: bigint): GgufValue => ({ type: GgufValueType.UINT64, value }),
    i64: (value: bigint): GgufValue => ({ type: GgufValueType.INT64, value }),
    f64: (value: number): GgufValue => ({ type: GgufValueType.FLOAT64, value }),
    arr: (itemType: GgufValueType, items: GgufArrayItem[]): GgufArray => ({ type: GgufValueType.ARRAY, itemType, items })
};

const NUMBER_TYPES: ReadonlySet<GgufValueType> = new Set([
    GgufValueType.UINT8, GgufValueType.INT8, GgufValueType.UINT16, GgufValueType.INT16, GgufValueType.UINT32,
    GgufValueType.INT32, GgufValueType.FLOAT32, GgufValueType.UINT64, GgufValueType.INT64, GgufValueType.FLOAT64
]);

/** "u32", "array of string" — how errors name a type. */
export function describeValueType(value: GgufValue): string {
    return value.type === GgufValueType.ARRAY ? `array of ${valueTypeName(value.itemType)}` : valueTypeName(value.type);
}

export function valueTypeName(type: GgufValueType): string {
    return GgufValueType[type]?.toLowerCase() ?? `type ${type}`;
}

export function metadataValue(file: GgufFile, key: string): GgufValue {
    const value = file.metadata.get(key);
    if (!value) throw new GgufError(file.path, `missing required key ${key}`, "is this a file written by a compatible converter?");
    return value;
}

function wrongType(file: GgufFile, key: string, value: GgufValue, expected: string): GgufError {
    return new GgufError(file.path, `key ${key} is ${describeValueType(value)} but must be ${expected}`);
}

/**
 * A numeric value as a number. With `type`, the stored type must be exactly that one (llama.cpp is that strict
 * about the keys it reads); without it, any numeric type is accepted. 64-bit values must fit a double exactly.
 */
export function metadataNumber(file: GgufFile, key: string, type?: GgufValueType): number {
    const value = metadataValue(file, key);
    if (type !== undefined ? value.type !== type : !NUMBER_TYPES.has(value.type)) {
        throw wrongType(file, key, value, type !== undefined ? valueTypeName(type) : "a number");
    }
    const raw = (value as { value: number | bigint }).value;
    if (typeof raw === "bigint" && (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < -BigInt(Number.MAX_SAFE_INTEGER))) {
        throw new GgufError(file.path, `key ${key} is ${raw}, too large to use as a number`);
    }
    return Number(raw);
}

export function metadataString(file: GgufFile, key: string): string {
    const value = metadataValue(file, key);
    if (value.type !== GgufValueType.STRING) throw wrongType(file, key, value, "a string");
    return value.value;
}

export function metadataBool(file: GgufFile, key: string): boolean {
    const value = metadataValue(file, key);
    if (value.type !== GgufValueType.BOOL) throw wrongType(file, key, value, "a bool");
    return value.value;
}

/** The items of an array whose item type is `itemType`. */
export function metadataArray(file: GgufFile, key: string, itemType: GgufValueType): GgufArrayItem[] {
    const value = metadataValue(file, key);
    if (value.type !== GgufValueType.ARRAY || value.itemType !== itemType) {
        throw wrongType(file, key, value, `an array of ${valueTypeName(itemType)}`);
    }
    return value.items;
}

export function metadataStringArray(file: GgufFile, key: string): string[] {
    return metadataArray(file, key, GgufValueType.STRING) as string[];
}

/** Items of a numeric array of the given item type, as numbers. */
export function metadataNumberArray(file: GgufFile, key: string, itemType: GgufValueType): number[] {
    return metadataArray(file, key, itemType).map(Number);
}
