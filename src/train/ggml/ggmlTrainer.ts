import { readGguf } from "../../gguf/reader.js";
import { readLlamaHparams, type LlamaHparams } from "../../gguf/llamaHparams.js";
import { ADAMW_DEFAULTS, type AdamWConfig } from "../adamw.js";
import { learningRateAt } from "../schedule.js";
import type { TokenBatch } from "../sequences.js";
import type { TrainStepResult } from "../trainStep.js";
import { GgmlTensorType, type GgmlFunctions, type GgmlLibrary, type Pointer } from "./library.js";
import { buildLlamaGraph, graphInputValues, type GraphShape, type LlamaGraph } from "./llamaGraph.js";
import { modelLayout, transpose, type LoraSpec, type TrainableTensor } from "./modelTensors.js";

/** What a ggml training run needs; everything crosses a process boundary as plain data. */
export interface GgmlTrainingSpec {
    /** llama GGUF: the frozen base (LoRA) or the initial weights (full) */
    modelPath: string;
    /** null: full training of every weight */
    lora: LoraSpec | null;
    optimizer: Partial<AdamWConfig> & Pick<AdamWConfig, "schedule">;
    threads: number;
}

/**
 * Graphs kept for reuse (build-pool batches come in one shape, pre-training batches in a few lengths).
 * Each has its own allocator: ggml's allocator places a tensor once and never moves it, so a buffer
 * shared between graphs would leave one graph's tensors in memory the other reallocated.
 */
const GRAPH_CACHE_SIZE = 3;

interface CachedGraph extends LlamaGraph {
    allocator: Pointer; // forward + backward
    forward: { graph: Pointer; allocator: Pointer } | null; // forward only, made when first needed
}
const ADAMW_PARAMETERS = 7; // alpha, beta1, beta2, eps, wd, 1/(1−β1ᵗ), 1/(1−β2ᵗ)

/**
 * The ggml training engine in this process: the model, LoRA factors, AdamW moments and gradient
 * accumulators live in one ggml backend buffer; each batch shape gets a forward+backward graph (kept in
 * a small cache) whose computes add into the accumulators; a second graph clips and applies AdamW
 * (ggml_opt_step_adamw, the arithmetic of src/train/adamw.ts). State is read and written in the tfjs
 * engine's layout and names (src/train/trainingState.ts), so checkpoints are shared by both engines.
 */
export class GgmlTrainer {
    private readonly graphs = new Map<string, CachedGraph>();
    private readonly optimizer: AdamWConfig;
    private stepCount = 0;

    private constructor(
        readonly library: GgmlLibrary,
        readonly hp: LlamaHparams,
        private readonly backend: Pointer,
        private readonly staticContext: Pointer,
        private readonly staticBuffers: Pointer[],
        private readonly layout: Awaited<ReturnType<typeof modelLayout>>,
        private readonly accumulators: Pointer[], // one per trainable tensor, same shape
        private readonly moments: [Pointer, Pointer][],
        private readonly lossGrad: Pointer,
        private readonly adamw: { decay: Pointer; noDecay: Pointer; clip: Pointer; sumOfSquares: Pointer; normGraph: Pointer; updateGraph: Pointer; context: Pointer },
        private readonly optimizerAllocators: Pointer[],
        spec: GgmlTrainingSpec
    ) {
        this.optimizer = { ...ADAMW_DEFAULTS, ...spec.optimizer };
    }

    static async create(library: GgmlLibrary, spec: GgmlTrainingSpec): Promise<GgmlTrainer> {
        const { fn } = library;
        const file = await readGguf(spec.modelPath);
        const hp = readLlamaHparams(file);
        const context = newContext(fn, 4096 + 16 * hp.blockCount * 16, false);
        const layout = await modelLayout(fn, context, file, hp, spec.lora);
        // accumulators and moments in their own context: one buffer clear zeroes every gradient
        const gradContext = newContext(fn, 3 * layout.trainable.length + 16, false);
        const like = (c: Pointer, t: TrainableTensor): Pointer =>
            (t.ne.length === 1 ? fn.newTensor1d(c, GgmlTensorType.F32, t.ne[0]) : fn.newTensor2d(c, GgmlTensorType.F32, t.ne[0], t.ne[1])) as Pointer;
        const accumulators = layout.trainable.map((t) => like(gradContext, t));
        const moments = layout.trainable.map((t): [Pointer, Pointer] => [like(context, t), like(context, t)]);
        const lossGrad = fn.newTensor1d(context, GgmlTensorType.F32, 1) as Pointer;
        const optimizerNodes = 8 * layout.trainable.length + 64;
        const adamwContext = newContext(fn, optimizerNodes, true, optimizerNodes);
        const decay = fn.newTensor1d(context, GgmlTensorType.F32, ADAMW_PARAMETERS) as Pointer;
        const noDecay = fn.newTensor1d(context, GgmlTensorType.F32, ADAMW_PARAMETERS) as Pointer;
        const clip = fn.newTensor1d(context, GgmlTensorType.F32, 1) as Pointer;

        const backend = library.newBackend(spec.threads);
        const staticBuffers = [fn.allocCtxTensors(context, backend) as Pointer, fn.allocCtxTensors(gradContext, backend) as Pointer];
        if (staticBuffers.some((b) => !b)) throw new Error("ggml could not allocate the model's buffer");
        for (const [t, values] of layout.uploads) fn.tensorSet(t, values, 0, values.byteLength);
        fn.bufferClear(staticBuffers[1]!, 0);
        for (const [m, v] of moments) {
            fn.tensorMemset(m, 0, 0, fn.nbytes(m));
            fn.tensorMemset(v, 0, 0, fn.nbytes(v));
        }
        fn.tensorSet(lossGrad, Float32Array.of(1), 0, 4);

        // Σ‖g‖² in one graph, then g·clip through AdamW in another: the clip factor is computed in
        // JavaScript between them, exactly as the tfjs engine computes it
        let sumOfSquares: Pointer = 0n;
        for (const g of accumulators) {
            const s = fn.sum(adamwContext, fn.sqr(adamwContext, g)) as Pointer;
            sumOfSquares = sumOfSquares === 0n ? s : (fn.add(adamwContext, sumOfSquares, s) as Pointer);
        }
        fn.setOutput(sumOfSquares);
        const normGraph = fn.newGraphCustom(adamwContext, optimizerNodes, false) as Pointer;
        fn.buildForwardExpand(normGraph, sumOfSquares);
        const updateGraph = fn.newGraphCustom(adamwContext, optimizerNodes, false) as Pointer;
        layout.trainable.forEach((t, i) => {
            const clipped = fn.mul(adamwContext, accumulators[i]!, clip);
            const [m, v] = moments[i]!;
            fn.buildForwardExpand(updateGraph, fn.optStepAdamw(adamwContext, t.tensor, clipped, m, v, t.decay ? decay : noDecay));
        });
        // one allocator per graph, each placed once (see GRAPH_CACHE_SIZE)
        const allocators = [normGraph, updateGraph].map((graph) => {
            const allocator = fn.gallocrNew(fn.defaultBufferType(backend)) as Pointer;
            if (!fn.gallocrAllocGraph(allocator, graph)) throw new Error("ggml could not allocate the optimizer's buffer");
            return allocator;
        });
        return new GgmlTrainer(library, hp, backend, context, staticBuffers, layout, accumulators, moments, lossGrad,
            { decay, noDecay, clip, sumOfSquares, normGraph, updateGraph, context: adamwContext }, allocators, spec);
    }

    get step(): number {
        return this.stepCount;
    }

    /** Bytes of the model, optimizer and gradient buffers plus the compute buffer so far. */
    memoryBytes(): number {
        const { fn } = this.library;
        const compute = [...this.optimizerAllocators, ...[...this.graphs.values()].flatMap((g) => [g.allocator, ...(g.forward === null ? [] : [g.forward.allocator])])];
        return this.staticBuffers.reduce((n, b) => n + (fn.bufferSize(b) as number), 0) + compute.reduce((n, a) => n + (fn.gallocrBufferSize(a, 0) as number), 0);
    }

    /** Sums this step's gradients over the micro-batches into the accumulators; returns the step's loss. */
    private accumulate(microBatches: TokenBatch[]): { loss: number; scoredTokens: number } {
        const scoredTokens = microBatches.reduce((n, b) => n + b.scoredTokens, 0);
        const normalizer = microBatches.reduce((sum, b) => sum + b.lossWeight, 0);
        if (scoredTokens === 0) throw new Error("ggml trainer: the batch has no scored tokens");
        this.library.fn.bufferClear(this.staticBuffers[1]!, 0);
        let loss = 0;
        for (const batch of microBatches) if (batch.scoredTokens > 0) loss += this.compute(batch, normalizer, true);
        return { loss, scoredTokens };
    }

    /** One optimization step (gradient accumulation over micro-batches, clipping, AdamW with the schedule). */
    trainStep(microBatches: TokenBatch[]): TrainStepResult {
        const { fn } = this.library;
        const { loss, scoredTokens } = this.accumulate(microBatches);
        this.run(this.adamw.normGraph);
        const squares = new Float32Array(1);
        fn.tensorGet(this.adamw.sumOfSquares, squares, 0, 4);
        const gradNorm = Math.sqrt(squares[0]!);
        const { beta1, beta2, epsilon, weightDecay, maxGradNorm, schedule } = this.optimizer;
        const clip = maxGradNorm !== null && gradNorm > maxGradNorm ? maxGradNorm / (gradNorm + 1e-6) : 1;
        const step = ++this.stepCount;
        const learningRate = learningRateAt(schedule, step);
        const corrections = [1 / (1 - beta1 ** step), 1 / (1 - beta2 ** step)];
        fn.tensorSet(this.adamw.decay, Float32Array.of(learningRate, beta1, beta2, epsilon, weightDecay, ...corrections), 0, 4 * ADAMW_PARAMETERS);
        fn.tensorSet(this.adamw.noDecay, Float32Array.of(learningRate, beta1, beta2, epsilon, 0, ...corrections), 0, 4 * ADAMW_PARAMETERS);
        fn.tensorSet(this.adamw.clip, Float32Array.of(clip), 0, 4);
        this.run(this.adamw.updateGraph);
        return { step, learningRate, gradNorm, loss, scoredTokens };
    }

    /** The gradients of the step's loss in the tfjs variables' order and layout (no update). */
    gradients(microBatches: TokenBatch[]): { loss: number; gradients: Float32Array[] } {
        const { loss } = this.accumulate(microBatches);
        return { loss, gradients: this.layout.trainable.map((t, i) => this.read(this.accumulators[i]!, t)) };
    }

    /** Σ weighted cross-entropy over a batch's scored tokens (normalizer 1), without a step. */
    lossSum(batch: TokenBatch): number {
        return batch.scoredTokens === 0 ? 0 : this.compute(batch, 1, false);
    }

    /** The trainable tensors and AdamW state under the tfjs engine's checkpoint names. */
    state(): Map<string, Float32Array> {
        const arrays = new Map<string, Float32Array>([["optimizer.step", Float32Array.of(this.stepCount)]]);
        this.layout.trainable.forEach((t, i) => {
            const [m, v] = this.moments[i]!;
            arrays.set(`param/${i}`, this.read(t.tensor, t));
            arrays.set(`m/${i}`, this.read(m, t));
            arrays.set(`v/${i}`, this.read(v, t));
        });
        return arrays;
    }

    restore(arrays: Map<string, Float32Array>, where: string): void {
        const array = (name: string, size: number): Float32Array => {
            const values = arrays.get(name);
            if (values === undefined || values.length !== size) throw new Error(`${where}: checkpoint array ${name} is missing or has the wrong size`);
            return values;
        };
        this.layout.trainable.forEach((t, i) => {
            const size = t.ne.reduce((a, b) => a * b, 1);
            const [m, v] = this.moments[i]!;
            this.write(t.tensor, t, array(`param/${i}`, size));
            this.write(m, t, array(`m/${i}`, size));
            this.write(v, t, array(`v/${i}`, size));
        });
        this.stepCount = array("optimizer.step", 1)[0]!;
    }

    /** The trainable tensors' values in the tfjs layout, in order. */
    parameters(): Float32Array[] {
        return this.layout.trainable.map((t) => this.read(t.tensor, t));
    }

    dispose(): void {
        const { fn } = this.library;
        for (const g of this.graphs.values()) this.freeGraph(g);
        this.graphs.clear();
        for (const a of this.optimizerAllocators) fn.gallocrFree(a);
        for (const b of this.staticBuffers) fn.bufferFree(b);
        fn.free(this.adamw.context);
        fn.free(this.staticContext);
        fn.backendFree(this.backend);
    }

    private read(t: Pointer, spec: TrainableTensor): Float32Array {
        const values = new Float32Array(spec.ne.reduce((a, b) => a * b, 1));
        this.library.fn.tensorGet(t, values, 0, values.byteLength);
        return spec.transposed ? transpose(values, spec.ne[1]!, spec.ne[0]!) : values;
    }

    private write(t: Pointer, spec: TrainableTensor, tfjsValues: Float32Array): void {
        const values = spec.transposed ? transpose(tfjsValues, spec.ne[0]!, spec.ne[1]!) : tfjsValues;
        this.library.fn.tensorSet(t, values, 0, values.byteLength);
    }

    /** Forward (and, with gradients, backward into the accumulators) of one batch; returns its loss. */
    private compute(batch: TokenBatch, normalizer: number, withGradients: boolean): number {
        const { fn } = this.library;
        const shape: GraphShape = { batchSize: batch.batchSize, seqLen: batch.seqLen, scoredRows: paddedRows(batch.scoredTokens, batch.batchSize * batch.seqLen) };
        const cached = this.graphFor(shape);
        const { graph, allocator } = withGradients ? cached : this.forwardOf(cached);
        if (!fn.gallocrAllocGraph(allocator, graph)) throw new Error("ggml could not allocate the compute buffer");
        const values = graphInputValues(shape, this.hp.vocabSize, batch, normalizer);
        for (const [name, data] of Object.entries(values)) {
            fn.tensorSet(cached.inputs[name as keyof typeof values], data, 0, data.byteLength);
        }
        this.run(graph);
        const loss = new Float32Array(1);
        fn.tensorGet(cached.loss, loss, 0, 4);
        return loss[0]!;
    }

    private graphFor(shape: GraphShape): CachedGraph {
        const key = `${shape.batchSize}x${shape.seqLen}x${shape.scoredRows}`;
        let graph = this.graphs.get(key);
        if (graph !== undefined) {
            this.graphs.delete(key); // re-inserted: the map's order is the recency order
        } else {
            const { fn } = this.library;
            if (this.graphs.size >= GRAPH_CACHE_SIZE) {
                const [oldestKey, oldest] = this.graphs.entries().next().value!;
                this.freeGraph(oldest);
                this.graphs.delete(oldestKey);
            }
            const gradAccumulators = new Map(this.layout.trainable.map((t, i) => [t.tensor, this.accumulators[i]!]));
            const built = buildLlamaGraph(fn, this.hp, this.layout.model, shape, gradAccumulators, this.lossGrad);
            graph = { ...built, allocator: this.newAllocator(), forward: null };
        }
        this.graphs.set(key, graph);
        return graph;
    }

    /** The forward half of a cached graph (for losses without a step), with its own allocator. */
    private forwardOf(cached: CachedGraph): { graph: Pointer; allocator: Pointer } {
        if (cached.forward === null) {
            const graph = this.library.fn.newGraphCustom(cached.context, cached.forwardNodes + 16, false) as Pointer;
            this.library.fn.buildForwardExpand(graph, cached.loss);
            cached.forward = { graph, allocator: this.newAllocator() };
        }
        return cached.forward;
    }

    private newAllocator(): Pointer {
        return this.library.fn.gallocrNew(this.library.fn.defaultBufferType(this.backend)) as Pointer;
    }

    private freeGraph(graph: CachedGraph): void {
        const { fn } = this.library;
        fn.gallocrFree(graph.allocator);
        if (graph.forward !== null) fn.gallocrFree(graph.forward.allocator);
        fn.free(graph.context);
    }

    private run(graph: Pointer): void {
        const { fn } = this.library;
        const status = fn.graphCompute(this.backend, graph) as number;
        if (status !== 0) throw new Error(`ggml graph compute failed with status ${status}`);
    }
}

/** Scored rows rounded up so that a few graph shapes serve every batch (padding rows carry weight 0). */
function paddedRows(scored: number, positions: number): number {
    const granule = Math.max(8, 2 ** Math.floor(Math.log2(Math.max(1, positions / 16))));
    return Math.min(positions, Math.ceil(scored / granule) * granule);
}

function newContext(fn: GgmlFunctions, tensors: number, withGraphs: boolean, graphNodes = 0): Pointer {
    const graphBytes = withGraphs ? 2 * (fn.graphOverheadCustom(graphNodes, false) as number) : 0;
    const context = fn.init({ mem_size: tensors * (fn.tensorOverhead() as number) + graphBytes, mem_buffer: null, no_alloc: true }) as Pointer;
    if (!context) throw new Error("ggml_init failed");
    return context;
}
