import * as tf from "@tensorflow/tfjs";
import {
    heapF32,
    registryIdOf,
    releaseView,
    viewTensor,
    type WasmBackendInternals
} from "./wasmHeap.js";

/**
 * Kernel replacements for tfjs-backend-wasm that training needs (pinned in versions.ts):
 * - BatchMatMul: the shipped kernel uses XNNPACK only for one 2-D product without transpose flags and
 *   falls back to a naive loop (~2 GFLOP/s) otherwise — i.e. for every matmul gradient and all of
 *   attention. Here transposes are explicit and each batch entry is a 2-D XNNPACK product on views
 *   into the operands (no copies).
 * - Slice / Unpack: the shipped kernels copy the whole input out of the heap for every call.
 * - GatherV2: the shipped kernel takes ~7 µs per gathered row (the embedding lookup of 1024 tokens took
 *   ~8 ms); rows are copied as heap subarrays instead.
 * - UnsortedSegmentSum: missing on wasm; it is the gradient of `gather` (trainable embeddings).
 * - OneHot: the shipped kernel writes int32 bits whatever the requested dtype, so a float32 one-hot
 *   (a cross-entropy gradient) silently holds denormals instead of ones.
 * - Identity / same-dtype Cast: the shipped kernels copy; the autograd engine calls them for every
 *   tensor it saves for backprop, so they share the buffer by reference count instead (as cpu does).
 */

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };
type KernelFn = (args: KernelArgs) => tf.TensorInfo | tf.TensorInfo[];

let registered = false;

export function registerWasmTrainingKernels(): void {
    if (registered) return;
    const original = (name: string): KernelFn => {
        const config = tf.getKernel(name, "wasm");
        if (config === undefined) throw new Error(`tfjs-backend-wasm has no ${name} kernel to replace`);
        return config.kernelFunc as unknown as KernelFn;
    };
    const transpose = original("Transpose");
    const shippedSlice = original("Slice");
    const shippedIdentity = original("Identity");
    const shippedCast = original("Cast");
    const shippedGather = original("GatherV2");

    replace("BatchMatMul", (args) => batchMatMul(args, transpose));
    replace("Slice", (args) => (args.inputs["x"]!.dtype === "string" ? shippedSlice(args) : slice(args)));
    replace("Unpack", unpack);
    replace("GatherV2", (args) => (args.attrs?.["batchDims"] === 0 && args.inputs["x"]!.dtype !== "string" ? gather(args) : shippedGather(args)));
    replace("UnsortedSegmentSum", unsortedSegmentSum);
    replace("OneHot", oneHot);
    replace("Identity", (args) => (args.inputs["x"]!.dtype === "string" ? shippedIdentity(args) : shareBuffer(args)));
    replace("Cast", (args) => (args.inputs["x"]!.dtype === args.attrs?.["dtype"] ? shareBuffer(args) : shippedCast(args)));
    registered = true;
}

function replace(kernelName: string, kernelFunc: KernelFn): void {
    if (tf.getKernel(kernelName, "wasm") !== undefined) tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

const internals = (backend: unknown): WasmBackendInternals => backend as WasmBackendInternals;

// ---- BatchMatMul ------------------------------------------------------------------------------

type XnnBatchMatMul = (
    aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number,
    transposeA: boolean, transposeB: boolean, outId: number
) => void;
const xnnByBackend = new WeakMap<object, XnnBatchMatMul>();

function xnnFor(backend: WasmBackendInternals): XnnBatchMatMul {
    let fn = xnnByBackend.get(backend);
    if (fn === undefined) {
        const argTypes = ["number", "array", "number", "number", "array", "number", "number", "number", "number"];
        fn = backend.wasm.cwrap("BatchMatMul", null, argTypes) as XnnBatchMatMul;
        xnnByBackend.set(backend, fn);
    }
    return fn;
}

const shapeBytes = (shape: number[]): Uint8Array => new Uint8Array(new Int32Array(shape).buffer);

/** out[m, n] = a[m, k] · b[k, n] on the XNNPACK path (batch 1, no transpose flags). */
function matMul2d(backend: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, out: tf.TensorInfo, m: number, k: number, n: number): void {
    xnnFor(backend)(
        registryIdOf(backend, a), shapeBytes([1, m, k]), 3,
        registryIdOf(backend, b), shapeBytes([1, k, n]), 3,
        false, false, registryIdOf(backend, out)
    );
}

/** Index into a (right-aligned, broadcast) operand's batch dims for flat output batch `flat`. */
function operandBatchIndex(flat: number, outBatch: number[], operandBatch: number[]): number {
    let index = 0;
    let stride = 1;
    let rest = flat;
    const offset = outBatch.length - operandBatch.length;
    for (let d = outBatch.length - 1; d >= 0; d--) {
        const coord = rest % outBatch[d]!;
        rest = Math.floor(rest / outBatch[d]!);
        const size = d >= offset ? operandBatch[d - offset]! : 1;
        if (size > 1) index += coord * stride;
        stride *= size;
    }
    return index;
}

function batchMatMul({ inputs, backend: rawBackend, attrs }: KernelArgs, transpose: KernelFn): tf.TensorInfo {
    const backend = internals(rawBackend);
    let a = inputs["a"]!;
    let b = inputs["b"]!;
    if (a.dtype !== "float32" || b.dtype !== "float32") throw new Error("BatchMatMul on wasm: float32 operands only");
    const swap = (x: tf.TensorInfo): tf.TensorInfo => swapLastTwo(x, rawBackend, transpose);
    const transposeA = attrs?.["transposeA"] === true;
    const transposeB = attrs?.["transposeB"] === true;
    if ((transposeA || transposeB) && a.shape.length === 2 && b.shape.length === 2) {
        const product = transposedProduct(backend, a, b, transposeA, transposeB, swap);
        if (product !== null) return product;
    }
    const temporaries: tf.TensorInfo[] = [];
    if (transposeA) temporaries.push((a = swap(a)));
    if (transposeB) temporaries.push((b = swap(b)));

    const [m, k] = a.shape.slice(-2) as [number, number];
    const [kb, n] = b.shape.slice(-2) as [number, number];
    if (k !== kb) throw new Error(`matMul: inner dimensions ${k} and ${kb} of shapes ${a.shape} and ${b.shape} differ`);
    const batchA = a.shape.slice(0, -2);
    const batchB = b.shape.slice(0, -2);
    const outBatch = tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB);
    const out = backend.makeOutput([...outBatch, m, n], "float32");
    const batchCount = tf.util.sizeFromShape(outBatch);

    if (tf.util.sizeFromShape(batchB) === 1 && m * k * n > 0) {
        // A shared right operand: every batch entry of a is one tall 2-D product (a is contiguous).
        matMul2d(backend, a, b, out, batchCount * m, k, n);
    } else if (m * k * n > 0) {
        const views: tf.TensorInfo[] = [];
        const aViews = new Map<number, tf.TensorInfo>();
        const bViews = new Map<number, tf.TensorInfo>(); // a reused b view keeps its packed XNNPACK weights
        const viewOf = (cache: Map<number, tf.TensorInfo>, owner: tf.TensorInfo, index: number, rows: number, cols: number) => {
            let v = cache.get(index);
            if (v === undefined) {
                v = viewTensor(backend, owner, index * rows * cols, [rows, cols]);
                cache.set(index, v);
                views.push(v);
            }
            return v;
        };
        for (let i = 0; i < batchCount; i++) {
            const ai = viewOf(aViews, a, operandBatchIndex(i, outBatch, batchA), m, k);
            const bi = viewOf(bViews, b, operandBatchIndex(i, outBatch, batchB), k, n);
            const oi = viewTensor(backend, out, i * m * n, [m, n]);
            matMul2d(backend, ai, bi, oi, m, k, n);
            releaseView(backend, oi);
        }
        for (const v of views) releaseView(backend, v);
    } else {
        heapF32(backend, out).fill(0);
    }
    for (const t of temporaries) backend.disposeData(t.dataId);
    return out;
}

/** XNNPACK packs a matmul's right operand before use (cached per tensor); measured ~8× a transpose per element. */
const PACK_COST = 8;

/**
 * A 2-D product with transpose flags can be computed as op(A)·op(B), transposing the flagged operands
 * and packing op(B), or as (op(B)ᵀ·op(A)ᵀ)ᵀ, packing op(A)ᵀ and transposing the result. Packing costs far
 * more than transposing, so the way that packs the smaller operand wins: e.g. dB = hᵀ·dY of a LoRA
 * factor (h = x·A [tokens, r]) packs the [tokens, r] side instead of [tokens, out].
 * Returns null when the direct way is the cheaper one.
 */
function transposedProduct(
    backend: WasmBackendInternals, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
    swap: (x: tf.TensorInfo) => tf.TensorInfo
): tf.TensorInfo | null {
    const [m, k] = transposeA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const n = transposeB ? b.shape[0]! : b.shape[1]!;
    const direct = (transposeA ? m * k : 0) + (transposeB ? n * k : 0) + PACK_COST * k * n;
    const viaResult = (transposeA ? 0 : m * k) + (transposeB ? 0 : n * k) + m * n + PACK_COST * k * m;
    if (viaResult >= direct || m * n * k === 0) return null;
    const left = transposeB ? b : swap(b); // [n, k]
    const right = transposeA ? a : swap(a); // [k, m]
    const resultT = backend.makeOutput([n, m], "float32");
    matMul2d(backend, left, right, resultT, n, k, m);
    const result = swap(resultT); // [m, n]
    for (const t of [left, right, resultT]) if (t !== a && t !== b) backend.disposeData(t.dataId);
    return result;
}

/** x with its last two dimensions swapped, through the shipped Transpose kernel (a new tensor). */
function swapLastTwo(x: tf.TensorInfo, backend: unknown, transpose: KernelFn): tf.TensorInfo {
    const perm = x.shape.map((_, i) => i);
    perm[perm.length - 1] = perm.length - 2;
    perm[perm.length - 2] = perm.length - 1;
    return transpose({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
}

// ---- Slice / Unpack ---------------------------------------------------------------------------

function slice({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
    const backend = internals(rawBackend);
    const x = inputs["x"]!;
    const [begin, size] = tf.slice_util.parseSliceParams(
        x as tf.TensorInfo as tf.Tensor, attrs!["begin"] as number[], attrs!["size"] as number[]
    );
    const out = backend.makeOutput(size, x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const strides = tf.util.computeStrides(x.shape);
    if (tf.slice_util.isSliceContinous(x.shape, begin, size)) {
        const start = tf.slice_util.computeFlatOffset(begin, strides);
        dst.set(src.subarray(start, start + dst.length));
        return out;
    }
    // Copy innermost rows; `coords` walks the outer dimensions of the slice like an odometer.
    const rank = x.shape.length;
    const rowLength = size[rank - 1]!;
    const rowCount = tf.util.sizeFromShape(size.slice(0, -1));
    const coords = new Array<number>(rank - 1).fill(0);
    for (let row = 0; row < rowCount; row++) {
        let start = begin[rank - 1]!;
        for (let d = 0; d < rank - 1; d++) start += (begin[d]! + coords[d]!) * strides[d]!;
        dst.set(src.subarray(start, start + rowLength), row * rowLength);
        for (let d = rank - 2; d >= 0; d--) {
            if (++coords[d]! < size[d]!) break;
            coords[d] = 0;
        }
    }
    return out;
}

function unpack({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo[] {
    const value = inputs["value"]!;
    const rank = value.shape.length;
    const axis = ((attrs!["axis"] as number) + rank) % rank;
    const outShape = value.shape.filter((_, d) => d !== axis);
    const size = value.shape.slice();
    size[axis] = 1;
    const outputs: tf.TensorInfo[] = [];
    for (let i = 0; i < value.shape[axis]!; i++) {
        const begin = new Array<number>(rank).fill(0);
        begin[axis] = i;
        const part = slice({ inputs: { x: value }, backend, attrs: { begin, size } });
        outputs.push({ dataId: part.dataId, dtype: part.dtype, shape: outShape });
    }
    return outputs;
}

// ---- GatherV2 ---------------------------------------------------------------------------------

/** out[o, i, …] = x[o, indices[i], …] along `axis`, one subarray copy per gathered slice. */
function gather({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
    const backend = internals(rawBackend);
    const x = inputs["x"]!;
    const indices = inputs["indices"]!;
    const axis = tf.util.parseAxisParam(attrs!["axis"] as number, x.shape)[0]!;
    const outer = tf.util.sizeFromShape(x.shape.slice(0, axis));
    const axisSize = x.shape[axis]!;
    const inner = tf.util.sizeFromShape(x.shape.slice(axis + 1));
    const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const ids = backend.typedArrayFromHeap(indices);
    for (let o = 0; o < outer; o++) {
        for (let i = 0; i < ids.length; i++) {
            const id = ids[i]!;
            if (id < 0 || id >= axisSize) {
                backend.disposeData(out.dataId);
                throw new Error(`GatherV2: index ${id} is not in [0, ${axisSize - 1}]`);
            }
            const from = (o * axisSize + id) * inner;
            const to = (o * ids.length + i) * inner;
            if (inner === 1) dst[to] = src[from]!;
            else dst.set(src.subarray(from, from + inner), to);
        }
    }
    return out;
}

// ---- UnsortedSegmentSum (gradient of gather) --------------------------------------------------

function unsortedSegmentSum({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
    const backend = internals(rawBackend);
    const x = inputs["x"]!;
    const segmentIds = inputs["segmentIds"]!;
    const numSegments = attrs!["numSegments"] as number;
    if (x.dtype !== "float32") throw new Error("UnsortedSegmentSum on wasm: float32 values only");
    const idCount = tf.util.sizeFromShape(segmentIds.shape);
    const rowShape = x.shape.slice(segmentIds.shape.length);
    const rowLength = tf.util.sizeFromShape(rowShape);
    const out = backend.makeOutput([numSegments, ...rowShape], "float32");
    const sums = heapF32(backend, out);
    sums.fill(0);
    const values = heapF32(backend, x);
    const ids = backend.typedArrayFromHeap(segmentIds);
    for (let i = 0; i < idCount; i++) {
        const segment = ids[i]!;
        if (segment < 0 || segment >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
        const to = segment * rowLength;
        const from = i * rowLength;
        for (let j = 0; j < rowLength; j++) sums[to + j]! += values[from + j]!;
    }
    return out;
}

// ---- OneHot ----------------------------------------------------------------------------------

function oneHot({ inputs, backend: rawBackend, attrs }: KernelArgs): tf.TensorInfo {
    const backend = internals(rawBackend);
    const indices = inputs["indices"]!;
    const depth = attrs!["depth"] as number;
    const out = backend.makeOutput([...indices.shape, depth], attrs!["dtype"] as tf.DataType);
    const values = backend.typedArrayFromHeap(out);
    values.fill(attrs!["offValue"] as number);
    const ids = backend.typedArrayFromHeap(indices);
    for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        if (id >= 0 && id < depth) values[i * depth + id] = attrs!["onValue"] as number;
    }
    return out;
}

// ---- Identity / Cast --------------------------------------------------------------------------

function shareBuffer({ inputs, backend }: KernelArgs): tf.TensorInfo {
    const x = inputs["x"]!;
    internals(backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}
