import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import koffi, { type LibraryHandle } from "koffi";

/*
 * Bindings to the ggml that node-llama-cpp's platform package ships (libggml-base, libggml and one
 * libggml-cpu-<arch> variant chosen at run time), through the FFI package koffi. Only what training
 * needs. ggml aborts the process on a failed GGML_ASSERT, so whatever calls these runs in a child
 * process (see trainingProcess.ts); shapes are checked in TypeScript before a graph is built.
 */

/** A ggml object (context, tensor, graph, backend, buffer): a native address. */
export type Pointer = bigint;

/** The ggml release whose struct layouts the bindings were written against (checked in layout.ts). */
export const PINNED_GGML_VERSION = "0.25.1";

export const GgmlTensorType = { F32: 0, F16: 1, I32: 26 } as const;
const BACKEND_DEVICE_TYPE = { CPU: 0, GPU: 1 } as const;

/** Where the libraries are and which llama.cpp release they are. */
export interface GgmlBuild {
    name: string; // node-llama-cpp platform build, e.g. linux-x64, linux-x64-cuda
    dir: string;
    llamaCppRelease: string; // e.g. v0.5.0
}

const require = createRequire(import.meta.url);

/**
 * The folder of a node-llama-cpp platform build (`@node-llama-cpp/<name>/bins/<name>`), or null when that
 * package is not installed. `CRAYON_GGML_BUILD` names the build (the engine choice sets it to a GPU build
 * node-llama-cpp supports here); `CRAYON_GGML_LIB_DIR` points at another folder holding the same libraries.
 */
export function findGgmlBuild(name = process.env["CRAYON_GGML_BUILD"] || `${process.platform}-${process.arch}`): GgmlBuild | null {
    let dir = process.env["CRAYON_GGML_LIB_DIR"];
    if (dir === undefined || dir === "") {
        try {
            dir = path.join(path.dirname(require.resolve(`@node-llama-cpp/${name}`)), "..", "bins", name);
        } catch {
            return null;
        }
    }
    if (!existsSync(dir)) return null;
    let llamaCppRelease = "unknown";
    try {
        const metadata = JSON.parse(readFileSync(path.join(dir, "_nlcBuildMetadata.json"), "utf8")) as { buildOptions?: { llamaCpp?: { release?: string } } };
        llamaCppRelease = metadata.buildOptions?.llamaCpp?.release ?? llamaCppRelease;
    } catch {
        // a folder without node-llama-cpp's build metadata: the release stays unknown
    }
    return { name, dir, llamaCppRelease };
}

/** The file in `dir` whose name matches, e.g. libggml.v0.5.0.so or libggml.cuda.v0.5.0.so. */
function libraryFile(dir: string, pattern: RegExp, what: string): string {
    const file = readdirSync(dir).find((name) => pattern.test(name));
    if (file === undefined) throw new Error(`${dir} has no ${what} library`);
    return path.join(dir, file);
}

export const ggmlInitParams = koffi.struct("crayon_ggml_init_params", { mem_size: "size_t", mem_buffer: "void *", no_alloc: "bool" });
const SetThreads = koffi.proto("void crayon_ggml_set_n_threads(void *backend, int n_threads)");

function bind(base: LibraryHandle, registry: LibraryHandle) {
    const f = (lib: LibraryHandle, signature: string) => lib.func(signature);
    return {
        version: f(base, "const char *ggml_version()"),
        commit: f(base, "const char *ggml_commit()"),
        init: f(base, "void *ggml_init(crayon_ggml_init_params params)"),
        free: f(base, "void ggml_free(void *ctx)"),
        tensorOverhead: f(base, "size_t ggml_tensor_overhead()"),
        graphOverheadCustom: f(base, "size_t ggml_graph_overhead_custom(size_t size, bool grads)"),
        newTensor1d: f(base, "void *ggml_new_tensor_1d(void *ctx, int type, int64_t ne0)"),
        newTensor2d: f(base, "void *ggml_new_tensor_2d(void *ctx, int type, int64_t ne0, int64_t ne1)"),
        setName: f(base, "void *ggml_set_name(void *t, const char *name)"),
        getName: f(base, "const char *ggml_get_name(void *t)"),
        getData: f(base, "void *ggml_get_data(void *t)"),
        nelements: f(base, "int64_t ggml_nelements(void *t)"),
        nbytes: f(base, "size_t ggml_nbytes(void *t)"),
        opName: f(base, "const char *ggml_op_desc(void *t)"),
        setParam: f(base, "void ggml_set_param(void *t)"),
        setLoss: f(base, "void ggml_set_loss(void *t)"),
        setInput: f(base, "void ggml_set_input(void *t)"),
        setOutput: f(base, "void ggml_set_output(void *t)"),
        mulMat: f(base, "void *ggml_mul_mat(void *ctx, void *a, void *b)"),
        add: f(base, "void *ggml_add(void *ctx, void *a, void *b)"),
        mul: f(base, "void *ggml_mul(void *ctx, void *a, void *b)"),
        scale: f(base, "void *ggml_scale(void *ctx, void *a, float s)"),
        sqr: f(base, "void *ggml_sqr(void *ctx, void *a)"),
        sum: f(base, "void *ggml_sum(void *ctx, void *a)"),
        log: f(base, "void *ggml_log(void *ctx, void *a)"),
        swigluSplit: f(base, "void *ggml_swiglu_split(void *ctx, void *a, void *b)"),
        rmsNorm: f(base, "void *ggml_rms_norm(void *ctx, void *a, float eps)"),
        reshape2d: f(base, "void *ggml_reshape_2d(void *ctx, void *a, int64_t ne0, int64_t ne1)"),
        reshape3d: f(base, "void *ggml_reshape_3d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2)"),
        reshape4d: f(base, "void *ggml_reshape_4d(void *ctx, void *a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3)"),
        permute: f(base, "void *ggml_permute(void *ctx, void *a, int axis0, int axis1, int axis2, int axis3)"),
        cont: f(base, "void *ggml_cont(void *ctx, void *a)"),
        ropeExt: f(base, "void *ggml_rope_ext(void *ctx, void *a, void *pos, void *freq, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow)"),
        softMaxExt: f(base, "void *ggml_soft_max_ext(void *ctx, void *a, void *mask, float scale, float max_bias)"),
        getRows: f(base, "void *ggml_get_rows(void *ctx, void *a, void *b)"),
        optStepAdamw: f(base, "void *ggml_opt_step_adamw(void *ctx, void *a, void *grad, void *m, void *v, void *params)"),
        newGraphCustom: f(base, "void *ggml_new_graph_custom(void *ctx, size_t size, bool grads)"),
        buildForwardExpand: f(base, "void ggml_build_forward_expand(void *graph, void *t)"),
        buildBackwardExpand: f(base, "void ggml_build_backward_expand(void *ctx, void *graph, void **grad_accs)"),
        graphNNodes: f(base, "int ggml_graph_n_nodes(void *graph)"),
        graphNode: f(base, "void *ggml_graph_node(void *graph, int i)"),
        graphGetGrad: f(base, "void *ggml_graph_get_grad(void *graph, void *node)"),
        tensorSet: f(base, "void ggml_backend_tensor_set(void *t, const void *data, size_t offset, size_t size)"),
        tensorGet: f(base, "void ggml_backend_tensor_get(void *t, _Out_ void *data, size_t offset, size_t size)"),
        tensorMemset: f(base, "void ggml_backend_tensor_memset(void *t, uint8_t value, size_t offset, size_t size)"),
        graphCompute: f(base, "int ggml_backend_graph_compute(void *backend, void *graph)"),
        allocCtxTensors: f(base, "void *ggml_backend_alloc_ctx_tensors(void *ctx, void *backend)"),
        defaultBufferType: f(base, "void *ggml_backend_get_default_buffer_type(void *backend)"),
        backendFree: f(base, "void ggml_backend_free(void *backend)"),
        bufferFree: f(base, "void ggml_backend_buffer_free(void *buffer)"),
        bufferSize: f(base, "size_t ggml_backend_buffer_get_size(void *buffer)"),
        bufferClear: f(base, "void ggml_backend_buffer_clear(void *buffer, uint8_t value)"),
        gallocrNew: f(base, "void *ggml_gallocr_new(void *buft)"),
        gallocrFree: f(base, "void ggml_gallocr_free(void *galloc)"),
        gallocrAllocGraph: f(base, "bool ggml_gallocr_alloc_graph(void *galloc, void *graph)"),
        gallocrBufferSize: f(base, "size_t ggml_gallocr_get_buffer_size(void *galloc, int buffer_id)"),
        devInit: f(base, "void *ggml_backend_dev_init(void *device, const char *params)"),
        devBackendReg: f(base, "void *ggml_backend_dev_backend_reg(void *device)"),
        devName: f(base, "const char *ggml_backend_dev_name(void *device)"),
        devDescription: f(base, "const char *ggml_backend_dev_description(void *device)"),
        regGetProcAddress: f(base, "void *ggml_backend_reg_get_proc_address(void *reg, const char *name)"),
        loadAllFromPath: f(registry, "void ggml_backend_load_all_from_path(const char *dir)"),
        devByType: f(registry, "void *ggml_backend_dev_by_type(int type)")
    };
}

export type GgmlFunctions = ReturnType<typeof bind>;

/** The loaded libraries and the device training runs on. */
export interface GgmlLibrary {
    build: GgmlBuild;
    fn: GgmlFunctions;
    version: string; // ggml_version()
    commit: string; // ggml_commit()
    device: "CPU" | "GPU";
    deviceName: string; // e.g. "CPU (Intel(R) Xeon(R) …)" or a GPU's description
    cpuVariant: string | null; // the libggml-cpu-<arch> file loaded, e.g. sapphirerapids
    /** a backend on the training device; CPU backends run `threads` threads */
    newBackend(threads: number): Pointer;
}

let loaded: GgmlLibrary | null = null;

/** Loads the build's ggml once per process; throws (an Error saying which file) when it cannot. */
export function loadGgml(build: GgmlBuild): GgmlLibrary {
    if (loaded !== null) return loaded;
    const lib = (pattern: RegExp, what: string) => koffi.load(libraryFile(build.dir, pattern, what));
    const base = lib(/^libggml-base\.(so|dylib)$/, "libggml-base");
    const registry = lib(/^libggml(\.[a-z]+)?\.v[\d.]+\.(so|dylib)$/, "libggml");
    const fn = bind(base, registry);
    // ggml's CPU code is not linked into libggml: load_all scores the libggml-cpu-<arch> variants and loads the best
    fn.loadAllFromPath(build.dir);
    const gpu = fn.devByType(BACKEND_DEVICE_TYPE.GPU);
    const device = gpu || fn.devByType(BACKEND_DEVICE_TYPE.CPU);
    if (!device) throw new Error(`${build.dir}: ggml found no CPU backend (no libggml-cpu variant loads on this processor)`);
    loaded = {
        build,
        fn,
        version: fn.version() as string,
        commit: fn.commit() as string,
        device: gpu ? "GPU" : "CPU",
        deviceName: `${fn.devName(device) as string} (${fn.devDescription(device) as string})`,
        cpuVariant: loadedCpuVariant(),
        newBackend(threads: number): Pointer {
            const backend = fn.devInit(device, null) as Pointer;
            if (!backend) throw new Error(`ggml could not start a backend on ${fn.devName(device) as string}`);
            const setThreads = fn.regGetProcAddress(fn.devBackendReg(device), "ggml_backend_set_n_threads") as Pointer;
            if (setThreads) koffi.call(setThreads, SetThreads, backend, threads);
            return backend;
        }
    };
    return loaded;
}

/** Which libggml-cpu-<arch> the process mapped (Linux); null elsewhere. */
function loadedCpuVariant(): string | null {
    try {
        const match = /libggml-cpu-([\w-]+)\.so/.exec(readFileSync("/proc/self/maps", "utf8"));
        return match?.[1] ?? null;
    } catch {
        return null;
    }
}
