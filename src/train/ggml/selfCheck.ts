import { findGgmlBuild, GgmlTensorType, loadGgml, PINNED_GGML_VERSION, type GgmlBuild, type GgmlLibrary, type Pointer } from "./library.js";

/** What `crayon info` and the engine choice report about the ggml libraries. */
export interface GgmlReport {
    ok: boolean;
    /** why the engine cannot be used; absent when ok */
    reason?: string;
    build?: string; // node-llama-cpp platform build
    llamaCppRelease?: string;
    ggmlVersion?: string;
    ggmlCommit?: string;
    device?: string;
    cpuVariant?: string | null;
}

/** sizeof(ggml_object) + sizeof(ggml_tensor) in the pinned release (x86-64 and arm64 alike). */
const TENSOR_OVERHEAD = 368;

/**
 * Start-up check of the loaded ggml, for a run in a child process (a mismatch may abort): the release
 * the bindings were written for, the size of the tensor struct the contexts are sized by, and a tiny
 * gradient — ∂/∂W Σ(W·x)² against its closed form 2·(W·x)·xᵀ — through the same ops and allocator as
 * training. Any difference is reported as a reason, never thrown.
 */
export function checkGgml(build: GgmlBuild | null = findGgmlBuild()): GgmlReport {
    if (build === null) {
        const dir = process.env["CRAYON_GGML_LIB_DIR"];
        return { ok: false, reason: dir ? `CRAYON_GGML_LIB_DIR=${dir} is not a folder` : "node-llama-cpp's platform package with the ggml libraries is not installed" };
    }
    let library: GgmlLibrary;
    try {
        library = loadGgml(build);
    } catch (error) {
        return { ok: false, reason: `its libraries do not load (${(error as Error).message})`, build: build.name };
    }
    const report: GgmlReport = {
        ok: false,
        build: build.name,
        llamaCppRelease: build.llamaCppRelease,
        ggmlVersion: library.version,
        ggmlCommit: library.commit,
        device: library.deviceName,
        cpuVariant: library.cpuVariant
    };
    if (library.version !== PINNED_GGML_VERSION) {
        return { ...report, reason: `ggml ${library.version} is not the release Crayon's bindings were checked against (${PINNED_GGML_VERSION}); keep node-llama-cpp at the version in package.json (npm ci)` };
    }
    const overhead = library.fn.tensorOverhead() as number;
    if (overhead !== TENSOR_OVERHEAD) return { ...report, reason: `ggml's tensor struct is ${overhead} bytes with its header, expected ${TENSOR_OVERHEAD}: another layout` };
    const error = tinyGradientError(library);
    if (!(error < 1e-5)) return { ...report, reason: `the self-check gradient is off by ${error} (relative)` };
    return { ...report, ok: true };
}

/** Relative error of ggml's gradient of Σ(W·x)² against the closed form. */
function tinyGradientError(library: GgmlLibrary): number {
    const { fn } = library;
    const [inDim, outDim, tokens] = [3, 2, 4];
    const weights = Float32Array.from({ length: inDim * outDim }, (_, i) => (i + 1) / 4);
    const x = Float32Array.from({ length: inDim * tokens }, (_, i) => Math.sin(i));
    const expected = new Float32Array(inDim * outDim);
    for (let n = 0; n < tokens; n++) {
        for (let o = 0; o < outDim; o++) {
            let y = 0;
            for (let i = 0; i < inDim; i++) y += weights[o * inDim + i]! * x[n * inDim + i]!;
            for (let i = 0; i < inDim; i++) expected[o * inDim + i]! += 2 * y * x[n * inDim + i]!;
        }
    }
    const overhead = fn.tensorOverhead() as number;
    const staticContext = fn.init({ mem_size: 16 * overhead, mem_buffer: null, no_alloc: true }) as Pointer;
    const graphContext = fn.init({ mem_size: 64 * overhead + (fn.graphOverheadCustom(64, true) as number), mem_buffer: null, no_alloc: true }) as Pointer;
    const backend = library.newBackend(1);
    try {
        const w = fn.newTensor2d(staticContext, GgmlTensorType.F32, inDim, outDim) as Pointer;
        const input = fn.newTensor2d(staticContext, GgmlTensorType.F32, inDim, tokens) as Pointer;
        const accumulator = fn.newTensor2d(staticContext, GgmlTensorType.F32, inDim, outDim) as Pointer;
        const lossGrad = fn.newTensor1d(staticContext, GgmlTensorType.F32, 1) as Pointer;
        fn.setParam(w);
        const buffer = fn.allocCtxTensors(staticContext, backend) as Pointer;
        fn.tensorSet(w, weights, 0, weights.byteLength);
        fn.tensorSet(input, x, 0, x.byteLength);
        fn.tensorSet(accumulator, new Float32Array(inDim * outDim), 0, 4 * inDim * outDim);
        fn.tensorSet(lossGrad, Float32Array.of(1), 0, 4);
        const loss = fn.sum(graphContext, fn.sqr(graphContext, fn.mulMat(graphContext, w, input))) as Pointer;
        fn.setLoss(loss);
        const graph = fn.newGraphCustom(graphContext, 64, true) as Pointer;
        fn.buildForwardExpand(graph, loss);
        const accumulators = Array.from({ length: fn.graphNNodes(graph) as number }, (_, i) => {
            const node = fn.graphNode(graph, i) as Pointer;
            return node === w ? accumulator : node === loss ? lossGrad : null;
        });
        fn.buildBackwardExpand(graphContext, graph, accumulators);
        const allocator = fn.gallocrNew(fn.defaultBufferType(backend)) as Pointer;
        try {
            if (!fn.gallocrAllocGraph(allocator, graph) || fn.graphCompute(backend, graph) !== 0) return Number.POSITIVE_INFINITY;
        } finally {
            fn.gallocrFree(allocator);
        }
        const actual = new Float32Array(inDim * outDim);
        fn.tensorGet(accumulator, actual, 0, actual.byteLength);
        fn.bufferFree(buffer);
        let diff = 0;
        let scale = 0;
        expected.forEach((e, i) => {
            diff = Math.max(diff, Math.abs(e - actual[i]!));
            scale = Math.max(scale, Math.abs(e));
        });
        return diff / scale;
    } finally {
        fn.free(graphContext);
        fn.free(staticContext);
        fn.backendFree(backend);
    }
}

/** One line for `crayon info`: the ggml release, the llama.cpp build it came with, the device and CPU variant. */
export function describeGgml(report: GgmlReport): string {
    if (!report.ok) return `unavailable: ${report.reason}`;
    const variant = report.cpuVariant === null || report.cpuVariant === undefined ? "" : `, CPU variant ${report.cpuVariant}`;
    return `ggml ${report.ggmlVersion} (${report.ggmlCommit}) from llama.cpp ${report.llamaCppRelease}, ${report.device}${variant} (node-llama-cpp build ${report.build})`;
}
