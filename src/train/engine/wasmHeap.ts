import * as tf from "@tensorflow/tfjs";

type DataType = tf.DataType;
type TensorInfo = tf.TensorInfo;
type DataId = TensorInfo["dataId"];

/** What the wasm backend keeps per tensor: its id in the C++ registry and where its bytes live. */
interface WasmTensorRecord {
    id: number;
    memoryOffset: number; // bytes into the wasm heap
    shape: number[];
    dtype: DataType;
    refCount: number;
}

/**
 * The parts of tfjs-backend-wasm 4.22's BackendWasm the kernels use. Not public API: versions.ts pins
 * the version and `wasmInternalsProblems` checks each member exists before anything relies on it.
 */
export interface WasmBackendInternals {
    wasm: {
        HEAPU8: Uint8Array;
        tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
        cwrap(name: string, returnType: null, argTypes: string[]): (...args: unknown[]) => void;
    };
    dataIdMap: { get(dataId: DataId): WasmTensorRecord | undefined; delete(dataId: DataId): boolean };
    makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
    typedArrayFromHeap(t: TensorInfo): Float32Array | Int32Array | Uint8Array;
    disposeData(dataId: DataId, force?: boolean): boolean;
    incRef(dataId: DataId): void;
}

/** Names every internal member the kernels touch that is missing on `backend`; empty when all exist. */
export function wasmInternalsProblems(backend: unknown): string[] {
    const b = backend as Partial<Record<string, unknown>> & { wasm?: { HEAPU8?: unknown; tfjs?: Record<string, unknown> } };
    const problems: string[] = [];
    for (const method of ["makeOutput", "typedArrayFromHeap", "disposeData", "incRef"]) {
        if (typeof b[method] !== "function") problems.push(`BackendWasm.${method}`);
    }
    const map = b["dataIdMap"] as { get?: unknown; delete?: unknown } | undefined;
    if (typeof map?.get !== "function" || typeof map?.delete !== "function") problems.push("BackendWasm.dataIdMap");
    if (!(b.wasm?.HEAPU8 instanceof Uint8Array)) problems.push("BackendWasm.wasm.HEAPU8");
    if (typeof (b.wasm as { cwrap?: unknown } | undefined)?.cwrap !== "function") problems.push("BackendWasm.wasm.cwrap");
    for (const fn of ["registerTensor", "disposeData"]) {
        if (typeof b.wasm?.tfjs?.[fn] !== "function") problems.push(`BackendWasm.wasm.tfjs.${fn}`);
    }
    return problems;
}

/** A fresh float32 view of a tensor's bytes (fresh because the heap's buffer changes when it grows). */
export function heapF32(backend: WasmBackendInternals, t: TensorInfo): Float32Array {
    const view = backend.typedArrayFromHeap(t);
    if (!(view instanceof Float32Array)) throw new Error(`expected a float32 tensor, got ${t.dtype}`);
    return view;
}

/** The tensor's id in the C++ registry (what wasm kernels take as arguments). */
export function registryIdOf(backend: WasmBackendInternals, t: TensorInfo): number {
    const record = backend.dataIdMap.get(t.dataId);
    if (record === undefined) throw new Error("tensor is not on the wasm backend");
    return record.id;
}

function memoryOffsetOf(backend: WasmBackendInternals, t: TensorInfo): number {
    const record = backend.dataIdMap.get(t.dataId);
    if (record === undefined) throw new Error("tensor is not on the wasm backend");
    return record.memoryOffset;
}

/**
 * A tensor registered over bytes owned by another tensor (no allocation, no copy). Only for use
 * inside one kernel call: release it with `releaseView`, never `disposeData` (which would free the
 * owner's memory).
 */
export function viewTensor(backend: WasmBackendInternals, owner: TensorInfo, elementOffset: number, shape: number[]): TensorInfo {
    return backend.makeOutput(shape, owner.dtype, memoryOffsetOf(backend, owner) + 4 * elementOffset);
}

export function releaseView(backend: WasmBackendInternals, view: TensorInfo): void {
    const record = backend.dataIdMap.get(view.dataId);
    if (record === undefined) return;
    backend.wasm.tfjs.disposeData(record.id); // drops the C++ registry entry and any packed XNNPACK weights
    backend.dataIdMap.delete(view.dataId);
}
