/**
 * safetensors reader: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {string: string}}`, then the data,
 * offsets relative to its start. Every length, offset and shape is checked against the file before it is
 * trusted, with the rules of the format's own loader: tensors tile the data exactly (no gap, no overlap)
 * and each one's byte length is its element count times its dtype's size. The files read here are LoRA
 * adapters (megabytes), so a file is read whole.
 */
import { readFileSync } from "node:fs";
import { CrayonError } from "../errors.js";
import { GgmlType } from "../gguf/constants.js";
import { fileProblemMessage } from "../gguf/errors.js";
import { decodeToF32 } from "../gguf/numeric.js";

/** Element types of the format and their sizes in bytes. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> = {
    BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
    I16: 2, U16: 2, F16: 2, BF16: 2,
    I32: 4, U32: 4, F32: 4,
    I64: 8, U64: 8, F64: 8
};

/** The float types a LoRA factor may be stored in, and how `decodeToF32` reads each. */
export const FACTOR_DTYPES = { F32: GgmlType.F32, F16: GgmlType.F16, BF16: GgmlType.BF16 } as const;
export type FactorDtype = keyof typeof FACTOR_DTYPES;

/** The format's loader refuses headers above 100 MB; so do we, before allocating one. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = "__metadata__";
const TRUNCATED_HINT = "the file is incomplete; download or write it again";

export interface SafetensorsTensorInfo {
    name: string;
    dtype: string;
    /** row-major, outermost first: a PyTorch weight [out, in] */
    shape: number[];
    /** byte offsets [begin, end) from the start of the data */
    begin: number;
    end: number;
}

export interface SafetensorsFile {
    /** as given by the caller; used in every error message */
    path: string;
    /** `__metadata__`, string → string; empty when absent */
    metadata: Record<string, string>;
    /** in header order */
    tensors: SafetensorsTensorInfo[];
    /** absolute byte offset of the data */
    dataOffset: number;
    bytes: Uint8Array;
}

/** A safetensors file that cannot be read. The message is one line: `<path>: <problem>[ — <what to do>]`. */
export class SafetensorsError extends CrayonError {
    constructor(readonly path: string, readonly problem: string, readonly hint?: string) {
        super(fileProblemMessage(path, problem, hint));
        this.name = "SafetensorsError";
    }
}

export function readSafetensors(path: string): SafetensorsFile {
    let bytes: Uint8Array;
    try {
        bytes = readFileSync(path);
    } catch (error) {
        throw new SafetensorsError(path, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return parseSafetensors(path, bytes);
}

/** Parses and checks the header of a whole file in memory; `path` only names it in errors. */
export function parseSafetensors(path: string, bytes: Uint8Array): SafetensorsFile {
    const fail = (problem: string, hint?: string): never => {
        throw new SafetensorsError(path, problem, hint);
    };
    if (bytes.length < 8) fail(`file has ${bytes.length} bytes, fewer than the 8 of the header length`, TRUNCATED_HINT);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const headerLength = view.getUint32(4, true) * 2 ** 32 + view.getUint32(0, true);
    if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is above the format's limit of ${MAX_HEADER_BYTES} bytes`, "the file is corrupt or not safetensors");
    if (8 + headerLength > bytes.length) fail(`header of ${headerLength} bytes runs past the end of the file (${bytes.length} bytes)`, TRUNCATED_HINT);
    const headerText = Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString("utf8");
    if (!headerText.startsWith("{")) fail("header does not start with '{'; this is not a safetensors file");
    let header: unknown;
    try {
        header = JSON.parse(headerText);
    } catch (error) {
        fail(`header is not valid JSON (${(error as Error).message})`, TRUNCATED_HINT);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header is not a JSON object");
    const duplicate = firstDuplicateKey(headerText);
    if (duplicate !== undefined) fail(`header names ${duplicate} twice`);

    const dataOffset = 8 + headerLength;
    const dataBytes = bytes.length - dataOffset;
    let metadata: Record<string, string> = {};
    const tensors: SafetensorsTensorInfo[] = [];
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
        if (name === METADATA_KEY) metadata = checkMetadata(entry, fail);
        else tensors.push(checkTensorEntry(name, entry, dataBytes, fail));
    }
    checkTiling(tensors, dataBytes, fail);
    return { path, metadata, tensors, dataOffset, bytes };
}

function checkMetadata(entry: unknown, fail: (problem: string) => never): Record<string, string> {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(`${METADATA_KEY} is not an object of strings`);
    for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== "string") fail(`${METADATA_KEY} entry ${key} is ${JSON.stringify(value)}, not a string`);
    }
    return entry as Record<string, string>;
}

function checkTensorEntry(name: string, entry: unknown, dataBytes: number, fail: (problem: string, hint?: string) => never): SafetensorsTensorInfo {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(`tensor ${name} is not described by an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== "string") fail(`tensor ${name} has no dtype`);
    const size = SAFETENSORS_DTYPE_BYTES[dtype as string];
    if (size === undefined) fail(`tensor ${name} has unknown dtype ${JSON.stringify(dtype)}`, `known: ${Object.keys(SAFETENSORS_DTYPE_BYTES).join(", ")}`);
    if (!Array.isArray(shape) || shape.some((dim) => !Number.isSafeInteger(dim) || dim < 0)) {
        fail(`tensor ${name} has shape ${JSON.stringify(shape)}; a shape is a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((offset) => !Number.isSafeInteger(offset) || offset < 0)) {
        fail(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}; they are [begin, end], non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`tensor ${name} has data_offsets [${begin}, ${end}], which end before they begin`);
    if (end > dataBytes) fail(`tensor ${name} data ends at byte ${end} of the data, past its end (${dataBytes} bytes)`, TRUNCATED_HINT);
    const elements = (shape as number[]).reduce((product, dim) => product * dim, 1);
    if (elements * size! !== end - begin) {
        fail(`tensor ${name} is ${dtype} [${(shape as number[]).join(", ")}] (${elements * size!} bytes) but its data_offsets span ${end - begin} bytes`);
    }
    return { name, dtype: dtype as string, shape: shape as number[], begin, end };
}

/** The tensors must cover the data exactly, in some order: no byte shared, none left over. */
function checkTiling(tensors: readonly SafetensorsTensorInfo[], dataBytes: number, fail: (problem: string, hint?: string) => never): void {
    const byOffset = [...tensors].sort((a, b) => a.begin - b.begin || a.end - b.end);
    let covered = 0;
    let previous: SafetensorsTensorInfo | undefined;
    for (const tensor of byOffset) {
        if (tensor.begin < covered) fail(`tensors ${previous!.name} and ${tensor.name} overlap in the data (bytes ${tensor.begin}–${covered})`);
        if (tensor.begin > covered) fail(`bytes ${covered}–${tensor.begin} of the data belong to no tensor`, "the header and the data disagree");
        covered = tensor.end;
        previous = tensor;
    }
    if (covered !== dataBytes) fail(`the file has ${dataBytes - covered} bytes after the last tensor's data`, "the header and the data disagree");
}

/**
 * The first key the header's top-level object repeats, or undefined. JSON.parse keeps the last of
 * repeated keys silently, so the header text itself is scanned (it is already known to be valid JSON).
 */
function firstDuplicateKey(text: string): string | undefined {
    const seen = new Set<string>();
    let depth = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text[i];
        if (c === "{" || c === "[") depth++;
        else if (c === "}" || c === "]") depth--;
        else if (c === '"') {
            let end = i + 1;
            while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
            let next = end + 1;
            while (/\s/.test(text[next] ?? "")) next++;
            if (depth === 1 && text[next] === ":") {
                const key = JSON.parse(text.slice(i, end + 1)) as string;
                if (seen.has(key)) return key;
                seen.add(key);
            }
            i = end;
        }
    }
    return undefined;
}

export function findSafetensor(file: SafetensorsFile, name: string): SafetensorsTensorInfo {
    const tensor = file.tensors.find((t) => t.name === name);
    if (tensor === undefined) throw new SafetensorsError(file.path, `has no tensor ${name}`);
    return tensor;
}

/** A float tensor's elements as float32, row-major; F32, F16 and BF16 only (what LoRA factors are saved in). */
export function safetensorF32(file: SafetensorsFile, tensor: SafetensorsTensorInfo): Float32Array {
    const type = FACTOR_DTYPES[tensor.dtype as FactorDtype];
    if (type === undefined) {
        throw new SafetensorsError(file.path, `tensor ${tensor.name} is ${tensor.dtype}, not a float type`, `LoRA factors must be ${Object.keys(FACTOR_DTYPES).join(", ")}`);
    }
    const start = file.dataOffset + tensor.begin;
    const count = (tensor.end - tensor.begin) / SAFETENSORS_DTYPE_BYTES[tensor.dtype]!;
    return decodeToF32(type, file.bytes.subarray(start, file.dataOffset + tensor.end), count);
}
