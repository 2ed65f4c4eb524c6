import type { LoraTarget } from "../../gguf/constants.js";
import type { LlamaHparams } from "../../gguf/llamaHparams.js";
import { GgmlTensorType, type GgmlFunctions, type Pointer } from "./library.js";

/*
 * The llama forward pass as a ggml graph, in the order data flows (the same function as
 * src/model/forward.ts and llama.cpp's `llama`): embedding → blocks (RMSNorm, RoPE in NORM mode,
 * causal grouped-query attention, SwiGLU) → the scored rows → final norm → head → weighted
 * cross-entropy. ggml's autodiff then adds the backward pass. Shapes are ggml's: ne0 first.
 */

/** One adapted projection: y += scale · B·(A·x). */
export interface LoraPair {
    a: Pointer; // ne [in, rank]
    b: Pointer; // ne [rank, out]
    scale: number; // α / r
}

export interface BlockTensors {
    attnNorm: Pointer; // [d]
    ffnNorm: Pointer; // [d]
    projections: Record<LoraTarget, Pointer>; // ne [in, out], as stored in GGUF
    lora: Partial<Record<LoraTarget, LoraPair>>;
}

export interface ModelTensors {
    tokenEmbd: Pointer; // ne [d, vocab]
    blocks: BlockTensors[];
    outputNorm: Pointer; // [d]
    output: Pointer | null; // ne [d, vocab]; null: tied to tokenEmbd
}

/** A batch shape: B rows of T tokens, of which `scoredRows` (padded) go through the head. */
export interface GraphShape {
    batchSize: number; // B
    seqLen: number; // T
    scoredRows: number; // Ns
}

/** Per-batch inputs of a graph, written before each compute. */
export interface GraphInputs {
    tokens: Pointer; // i32 [B·T]
    positions: Pointer; // i32 [T]
    causalMask: Pointer; // f32 [T, T]: 0 at or below the diagonal, −inf above
    scoredRows: Pointer; // i32 [Ns]: rows of the B·T positions whose prediction is scored
    targetCells: Pointer; // i32 [Ns]: row·vocab + target, cells of the [vocab, Ns] probabilities
    lossWeights: Pointer; // f32 [1, Ns]: each scored token's weight over the step's total weight
}

export interface LlamaGraph {
    context: Pointer;
    graph: Pointer;
    shape: GraphShape;
    inputs: GraphInputs;
    loss: Pointer; // f32 [1]
    forwardNodes: number;
}

/** Nodes a graph of this depth needs at most: forward ~70 per layer, the backward about three times that. */
export function graphCapacity(hp: LlamaHparams): number {
    return 512 * (hp.blockCount + 4);
}

const ROPE_MODE_NORM = 0;

/**
 * Builds forward + backward for one batch shape. `gradAccumulators` maps each trainable tensor to its
 * static accumulator: every compute adds this batch's gradient into it, so micro-batches sum.
 */
export function buildLlamaGraph(fn: GgmlFunctions, hp: LlamaHparams, model: ModelTensors, shape: GraphShape, gradAccumulators: Map<Pointer, Pointer>, lossGrad: Pointer): LlamaGraph {
    const capacity = graphCapacity(hp);
    const context = fn.init({ mem_size: 2 * capacity * (fn.tensorOverhead() as number) + (fn.graphOverheadCustom(capacity, true) as number), mem_buffer: null, no_alloc: true }) as Pointer;
    if (!context) throw new Error("ggml_init failed for the graph context");
    const c = context;
    const { batchSize: B, seqLen: T, scoredRows: Ns } = shape;
    const N = B * T;
    const { headCount: H, headCountKv: KV, headDim: hd, vocabSize: V } = hp;
    const input = (t: Pointer, name: string): Pointer => {
        fn.setName(t, name);
        fn.setInput(t);
        return t;
    };
    const inputs: GraphInputs = {
        tokens: input(fn.newTensor1d(c, GgmlTensorType.I32, N), "tokens"),
        positions: input(fn.newTensor1d(c, GgmlTensorType.I32, T), "positions"),
        causalMask: input(fn.newTensor2d(c, GgmlTensorType.F32, T, T), "causal_mask"),
        scoredRows: input(fn.newTensor1d(c, GgmlTensorType.I32, Ns), "scored_rows"),
        targetCells: input(fn.newTensor1d(c, GgmlTensorType.I32, Ns), "target_cells"),
        lossWeights: input(fn.newTensor2d(c, GgmlTensorType.F32, 1, Ns), "loss_weights")
    };

    const rmsNorm = (x: Pointer, gain: Pointer): Pointer => fn.mul(c, fn.rmsNorm(c, x, hp.rmsEpsilon), gain);
    const linear = (x: Pointer, block: BlockTensors, target: LoraTarget): Pointer => {
        const y = fn.mulMat(c, block.projections[target], x);
        const lora = block.lora[target];
        if (lora === undefined) return y;
        return fn.add(c, y, fn.scale(c, fn.mulMat(c, lora.b, fn.mulMat(c, lora.a, x)), lora.scale));
    };
    const rope = (x: Pointer, heads: number): Pointer =>
        fn.ropeExt(c, fn.reshape4d(c, x, hd, heads, T, B), inputs.positions, null, hp.ropeDimensionCount, ROPE_MODE_NORM, 0, hp.ropeFreqBase, 1, 0, 1, 32, 1);
    // [hd, heads, T, B] → [hd, T, heads·B]: the batch folded into the head dimension, so that mul_mat
    // broadcasts each KV head over its G query heads (head h + H·b reads KV head ⌊h/G⌋ + KV·b) and its
    // backward needs no repeated K/V
    const headMajor = (x: Pointer, heads: number): Pointer => fn.reshape3d(c, fn.cont(c, fn.permute(c, x, 0, 2, 1, 3)), hd, T, heads * B);

    let x = fn.getRows(c, model.tokenEmbd, inputs.tokens) as Pointer; // [d, N]
    for (const block of model.blocks) {
        const h = rmsNorm(x, block.attnNorm);
        const q = headMajor(rope(linear(h, block, "q"), H), H); // [hd, T, H·B]
        const k = headMajor(rope(linear(h, block, "k"), KV), KV); // [hd, T, KV·B]
        const v = fn.reshape3d(c, fn.cont(c, fn.permute(c, fn.reshape4d(c, linear(h, block, "v"), hd, KV, T, B), 1, 2, 0, 3)), T, hd, KV * B); // [T, hd, KV·B]
        const weights = fn.softMaxExt(c, fn.mulMat(c, k, q), inputs.causalMask, 1 / Math.sqrt(hd), 0); // [T keys, T queries, H·B]
        const mixed = fn.mulMat(c, v, weights); // [hd, T, H·B]
        const merged = fn.reshape2d(c, fn.cont(c, fn.permute(c, fn.reshape4d(c, mixed, hd, T, H, B), 0, 2, 1, 3)), H * hd, N);
        x = fn.add(c, x, linear(merged, block, "o"));
        const h2 = rmsNorm(x, block.ffnNorm);
        x = fn.add(c, x, linear(fn.swigluSplit(c, linear(h2, block, "gate"), linear(h2, block, "up")), block, "down"));
    }
    // only scored positions reach the head; the norm is per row, so gathering first changes nothing
    const hidden = rmsNorm(fn.getRows(c, x, inputs.scoredRows), model.outputNorm); // [d, Ns]
    const logits = fn.mulMat(c, model.output ?? model.tokenEmbd, hidden); // [V, Ns]
    // Σ wᵢ·(−log pᵢ[targetᵢ]): ggml's cross-entropy op assumes labels summing to 1 in its backward, so
    // weighted rows take the target probability out of the softmax instead
    const probabilities = fn.reshape2d(c, fn.softMaxExt(c, logits, null, 1, 0), 1, V * Ns);
    const targetLogProbabilities = fn.log(c, fn.getRows(c, probabilities, inputs.targetCells)); // [1, Ns]
    const loss = fn.scale(c, fn.sum(c, fn.mul(c, targetLogProbabilities, inputs.lossWeights)), -1) as Pointer;
    fn.setName(loss, "loss");
    fn.setLoss(loss);
    fn.setOutput(loss);

    const graph = fn.newGraphCustom(c, capacity, true) as Pointer;
    fn.buildForwardExpand(graph, loss);
    const forwardNodes = fn.graphNNodes(graph) as number;
    const accumulators: (Pointer | null)[] = [];
    for (let i = 0; i < forwardNodes; i++) {
        const node = fn.graphNode(graph, i) as Pointer;
        // Kept through the backward pass: the allocator otherwise lets a later op overwrite a forward
        // result that a backward op still reads through a view (seen with the softmax under a reshape)
        fn.setOutput(node);
        accumulators.push(node === loss ? lossGrad : (gradAccumulators.get(node) ?? null));
    }
    const found = accumulators.filter((a) => a !== null).length - 1;
    if (found !== gradAccumulators.size) throw new Error(`ggml graph: ${found} of ${gradAccumulators.size} trainable tensors are on the loss path`);
    fn.buildBackwardExpand(c, graph, accumulators);
    return { context, graph, shape, inputs, loss, forwardNodes };
}

/** Input values of one batch for a graph of `shape` (padded scored rows repeat the first with weight 0). */
export function graphInputValues(shape: GraphShape, vocabSize: number, batch: { inputs: Int32Array; targets: Int32Array; lossMask: Float32Array }, normalizer: number) {
    const { batchSize: B, seqLen: T, scoredRows: Ns } = shape;
    const positions = Int32Array.from({ length: T }, (_, i) => i);
    const causalMask = new Float32Array(T * T);
    for (let query = 0; query < T; query++) for (let key = query + 1; key < T; key++) causalMask[query * T + key] = -Infinity;
    const scoredRows = new Int32Array(Ns);
    const targetCells = new Int32Array(Ns);
    const lossWeights = new Float32Array(Ns);
    let row = 0;
    batch.lossMask.forEach((w, i) => {
        if (w <= 0) return;
        scoredRows[row] = i;
        targetCells[row] = row * vocabSize + batch.targets[i]!;
        lossWeights[row] = w / normalizer;
        row++;
    });
    for (let pad = row; pad < Ns; pad++) {
        scoredRows[pad] = scoredRows[0]!;
        targetCells[pad] = pad * vocabSize + (targetCells[0]! % vocabSize);
    }
    if (batch.inputs.length !== B * T) throw new Error(`ggml graph: a batch of ${batch.inputs.length} tokens for a ${B}×${T} graph`);
    return { tokens: batch.inputs, positions, causalMask, scoredRows, targetCells, lossWeights };
}
