import * as tf from "@tensorflow/tfjs";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import type { GgufFile } from "../gguf/types.js";
import { findTensor, readTensorF32 } from "../gguf/reader.js";
import { GgmlType, TensorName, blockTensorName, type BlockTensorKind } from "../gguf/constants.js";
import type { GgufTensorInput } from "../gguf/writer.js";

/**
 * Weights of one transformer block. Matrices are stored [in, out] (= Wᵀ of y = W·x) so that every
 * forward matmul is a plain 2-D x·W, the fast path of the wasm engine.
 */
export interface BlockWeights {
    attnNorm: tf.Tensor1D; // [d]
    attnQ: tf.Tensor2D; // [d, H·hd]
    attnK: tf.Tensor2D; // [d, KV·hd]
    attnV: tf.Tensor2D; // [d, KV·hd]
    attnOutput: tf.Tensor2D; // [H·hd, d]
    ffnNorm: tf.Tensor1D; // [d]
    ffnGate: tf.Tensor2D; // [d, F]
    ffnUp: tf.Tensor2D; // [d, F]
    ffnDown: tf.Tensor2D; // [F, d]
}

export interface LlamaWeights {
    tokenEmbd: tf.Tensor2D; // [vocab, d]
    blocks: BlockWeights[];
    outputNorm: tf.Tensor1D; // [d]
    /** [d, vocab]; null when the output head is tied to tokenEmbd */
    output: tf.Tensor2D | null;
    /**
     * True when the file stores the matrices as F16: llama.cpp then rounds each matmul's input to F16
     * too, and the forward pass does the same so that its logits match to 1e-4 rather than 1e-3.
     */
    f16MatmulInputs: boolean;
}

type MatrixKey = Exclude<keyof BlockWeights, "attnNorm" | "ffnNorm">;

/** Each block matrix, its GGUF tensor kind and its [in, out] shape. */
export function blockMatrices(hp: LlamaHparams): { key: MatrixKey; kind: BlockTensorKind; inDim: number; outDim: number }[] {
    const d = hp.embeddingLength;
    const q = hp.headCount * hp.headDim;
    const kv = hp.headCountKv * hp.headDim;
    const f = hp.feedForwardLength;
    return [
        { key: "attnQ", kind: "attn_q", inDim: d, outDim: q },
        { key: "attnK", kind: "attn_k", inDim: d, outDim: kv },
        { key: "attnV", kind: "attn_v", inDim: d, outDim: kv },
        { key: "attnOutput", kind: "attn_output", inDim: q, outDim: d },
        { key: "ffnGate", kind: "ffn_gate", inDim: d, outDim: f },
        { key: "ffnUp", kind: "ffn_up", inDim: d, outDim: f },
        { key: "ffnDown", kind: "ffn_down", inDim: f, outDim: d }
    ];
}

/** Standard deviation of every initial matrix except an untied token embedding. */
const MATRIX_INIT_STD = 0.02;

/**
 * Initialisation, seeded and identical on every backend: matrices normal with std 0.02, norms 1, and an
 * untied token embedding N(0, 1). With a 0.02 embedding, small pre-norm models did not learn
 * content-addressed lookup (associative recall stayed at chance through 1.1 M sequences; with N(0, 1)
 * it formed within 100 k, see models/README.md). A tied embedding is also the output head, where
 * N(0, 1) would start the logits at a spread of √d, so it keeps 0.02.
 */
export function randomLlamaWeights(hp: LlamaHparams, seed: number): LlamaWeights {
    let next = seed;
    const normal = (shape: [number, number], std = MATRIX_INIT_STD): tf.Tensor2D => tf.randomNormal(shape, 0, std, "float32", next++);
    const d = hp.embeddingLength;
    return {
        tokenEmbd: normal([hp.vocabSize, d], hp.tiedOutput ? MATRIX_INIT_STD : 1),
        blocks: Array.from({ length: hp.blockCount }, () => {
            const block = { attnNorm: tf.ones([d]), ffnNorm: tf.ones([d]) } as Partial<BlockWeights>;
            for (const m of blockMatrices(hp)) block[m.key] = normal([m.inDim, m.outDim]);
            return block as BlockWeights;
        }),
        outputNorm: tf.ones([d]),
        output: hp.tiedOutput ? null : normal([d, hp.vocabSize]),
        f16MatmulInputs: false
    };
}

/** A GGUF stores W row-major as [out][in] (ne = [in, out]); the tfjs layout is its transpose. */
async function readMatrix(file: GgufFile, name: string, inDim: number, outDim: number): Promise<tf.Tensor2D> {
    const rowsOut = tf.tensor2d(await readTensorF32(file, name), [outDim, inDim]);
    const stored = tf.transpose(rowsOut);
    rowsOut.dispose();
    return stored;
}

export async function weightsFromGguf(file: GgufFile, hp: LlamaHparams): Promise<LlamaWeights> {
    const d = hp.embeddingLength;
    const vector = async (name: string): Promise<tf.Tensor1D> => tf.tensor1d(await readTensorF32(file, name));
    const blocks: BlockWeights[] = [];
    for (let layer = 0; layer < hp.blockCount; layer++) {
        const block = {
            attnNorm: await vector(blockTensorName(layer, "attn_norm")),
            ffnNorm: await vector(blockTensorName(layer, "ffn_norm"))
        } as Partial<BlockWeights>;
        for (const m of blockMatrices(hp)) {
            block[m.key] = await readMatrix(file, blockTensorName(layer, m.kind), m.inDim, m.outDim);
        }
        blocks.push(block as BlockWeights);
    }
    return {
        // token_embd is a lookup table: ne = [d, vocab] is already one row per token
        tokenEmbd: tf.tensor2d(await readTensorF32(file, TensorName.tokenEmbd), [hp.vocabSize, d]),
        blocks,
        outputNorm: await vector(TensorName.outputNorm),
        output: hp.tiedOutput ? null : await readMatrix(file, TensorName.output, d, hp.vocabSize),
        f16MatmulInputs: findTensor(file, blockTensorName(0, "attn_q")).type === GgmlType.F16
    };
}

/** The weights as GGUF tensors: norms F32 (llama.cpp requires it), matrices in `matrixType`. */
export function weightsToGgufTensors(
    hp: LlamaHparams,
    w: LlamaWeights,
    matrixType: GgmlType.F32 | GgmlType.F16 = GgmlType.F32
): GgufTensorInput[] {
    const d = hp.embeddingLength;
    const vector = (name: string, t: tf.Tensor1D): GgufTensorInput =>
        ({ name, type: GgmlType.F32, dims: [t.shape[0]], data: t.dataSync() as Float32Array });
    const matrix = (name: string, t: tf.Tensor2D): GgufTensorInput => {
        const [inDim, outDim] = t.shape;
        const rowsOut = tf.transpose(t);
        const data = rowsOut.dataSync() as Float32Array;
        rowsOut.dispose();
        return { name, type: matrixType, dims: [inDim, outDim], data };
    };
    const tensors: GgufTensorInput[] = [
        { name: TensorName.tokenEmbd, type: matrixType, dims: [d, hp.vocabSize], data: w.tokenEmbd.dataSync() as Float32Array }
    ];
    w.blocks.forEach((block, layer) => {
        tensors.push(vector(blockTensorName(layer, "attn_norm"), block.attnNorm));
        for (const m of blockMatrices(hp)) tensors.push(matrix(blockTensorName(layer, m.kind), block[m.key]));
        tensors.push(vector(blockTensorName(layer, "ffn_norm"), block.ffnNorm));
    });
    tensors.push(vector(TensorName.outputNorm, w.outputNorm));
    if (w.output !== null) tensors.push(matrix(TensorName.output, w.output));
    return tensors;
}

export function disposeWeights(w: LlamaWeights): void {
    tf.dispose([w.tokenEmbd, w.outputNorm, ...(w.output ? [w.output] : [])]);
    for (const block of w.blocks) tf.dispose(Object.values(block));
}
