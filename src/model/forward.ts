import * as tf from "@tensorflow/tfjs";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import type { BlockWeights, LlamaWeights } from "./weights.js";
import { loraTargetWeight, type BlockLora, type LoraStack } from "./lora.js";
import type { LoraTarget } from "../gguf/constants.js";

/*
 * The llama forward pass, in the order data flows: embedding → blocks (RMSNorm, attention with RoPE and
 * grouped-query heads, SwiGLU MLP) → final norm → output head. It matches llama.cpp's `llama`
 * architecture exactly, so weights trained here mean the same thing when node-llama-cpp runs them.
 */

/** Constant tables for one sequence length: RoPE cos/sin, the rotation matrix, the causal mask. */
interface PositionTables {
    cos: tf.Tensor4D; // [1, T, 1, hd]
    sin: tf.Tensor4D; // [1, T, 1, hd]
    rotate: tf.Tensor2D; // [hd, hd]: x·rotate = (−x1, x0, −x3, x2, …)
    causalMask: tf.Tensor4D; // [1, 1, T, T], 0 on and below the diagonal, −1e9 above
}

const tableCache = new Map<string, PositionTables>();

/**
 * RoPE in llama.cpp's NORM mode: adjacent pairs (2i, 2i+1) rotate by pos·base^(−2i/n_rot); dimensions
 * past n_rot are left alone. (The "halves" pairing of HF checkpoints is a different function.)
 */
function positionTables(hp: LlamaHparams, seqLen: number): PositionTables {
    const key = `${tf.getBackend()}:${seqLen}:${hp.headDim}:${hp.ropeDimensionCount}:${hp.ropeFreqBase}`;
    const cached = tableCache.get(key);
    if (cached) return cached;
    const hd = hp.headDim;
    const nRot = hp.ropeDimensionCount;
    const cos = new Float32Array(seqLen * hd).fill(1);
    const sin = new Float32Array(seqLen * hd);
    for (let pos = 0; pos < seqLen; pos++) {
        for (let i = 0; i < nRot / 2; i++) {
            const theta = pos * Math.pow(hp.ropeFreqBase, (-2 * i) / nRot);
            cos[pos * hd + 2 * i] = cos[pos * hd + 2 * i + 1] = Math.cos(theta);
            sin[pos * hd + 2 * i] = sin[pos * hd + 2 * i + 1] = Math.sin(theta);
        }
    }
    const rotate = new Float32Array(hd * hd);
    for (let i = 0; i < nRot / 2; i++) {
        rotate[(2 * i + 1) * hd + 2 * i] = -1;
        rotate[2 * i * hd + 2 * i + 1] = 1;
    }
    const mask = new Float32Array(seqLen * seqLen);
    for (let row = 0; row < seqLen; row++) for (let col = row + 1; col < seqLen; col++) mask[row * seqLen + col] = -1e9;
    const tables = tf.tidy(() => ({
        cos: tf.keep(tf.tensor4d(cos, [1, seqLen, 1, hd])),
        sin: tf.keep(tf.tensor4d(sin, [1, seqLen, 1, hd])),
        rotate: tf.keep(tf.tensor2d(rotate, [hd, hd])),
        causalMask: tf.keep(tf.tensor4d(mask, [1, 1, seqLen, seqLen]))
    }));
    tableCache.set(key, tables);
    return tables;
}

function rmsNorm(x: tf.Tensor2D, gain: tf.Tensor1D, eps: number): tf.Tensor2D {
    const meanSquare = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), gain) as tf.Tensor2D;
}

/**
 * Rounds to F16 precision (11 significant bits) with float32 arithmetic only (Veltkamp's split), so
 * it runs on every backend and its gradient is the identity. F16 subnormals are not emulated.
 */
function roundToF16Precision(x: tf.Tensor2D): tf.Tensor2D {
    const scaled = tf.mul(x, 8193); // 2^(24−11) + 1
    return tf.sub(scaled, tf.sub(scaled, x));
}

/** x·W, with x rounded as llama.cpp rounds it for an F16 weight. */
function baseMatMul(x: tf.Tensor2D, weight: tf.Tensor2D, f16Inputs: boolean): tf.Tensor2D {
    return tf.matMul(f16Inputs ? roundToF16Precision(x) : x, weight);
}

/** y = x·W + Σ scale·(x·a)·b over the adapters on this weight. */
function linear(x: tf.Tensor2D, block: BlockWeights, lora: BlockLora | undefined, target: LoraTarget, f16Inputs: boolean): tf.Tensor2D {
    let y = baseMatMul(x, block[loraTargetWeight[target]], f16Inputs);
    // scale folded into b ([r, out]), the smallest tensor of the product
    for (const f of lora?.[target] ?? []) y = tf.add(y, tf.matMul(tf.matMul(x, f.a), tf.mul(f.b, f.scale))) as tf.Tensor2D;
    return y;
}

/** [B·T, heads·hd] → [B, T, heads, hd] with RoPE applied per position. */
function applyRope(x: tf.Tensor2D, batch: number, seqLen: number, heads: number, hd: number, tables: PositionTables): tf.Tensor4D {
    const x4 = tf.reshape(x, [batch, seqLen, heads, hd]);
    const rotated = tf.reshape(tf.matMul(tf.reshape(x, [batch * seqLen * heads, hd]), tables.rotate), [batch, seqLen, heads, hd]);
    return tf.add(tf.mul(x4, tables.cos), tf.mul(rotated, tables.sin));
}

/**
 * Causal self-attention with grouped-query heads: query head h reads KV head ⌊h / G⌋, G = H/KV. The G
 * query heads of a KV head are stacked into one [G·T, hd] operand, so each (sequence, KV head) pair is
 * one matmul against its keys and one against its values — no repeated K/V copies, and G× fewer (larger)
 * matmuls in the forward and backward passes.
 */
function attention(h: tf.Tensor2D, hp: LlamaHparams, block: BlockWeights, lora: BlockLora | undefined, f16Inputs: boolean, batch: number, seqLen: number, tables: PositionTables): tf.Tensor2D {
    const { headCount: H, headCountKv: KV, headDim: hd } = hp;
    const group = H / KV;
    const toHeads = [0, 2, 1, 3]; // [B, T, heads, hd] ↔ [B, heads, T, hd]
    // 1/√hd applied to q ([B·T, H·hd]) rather than to the larger scores ([B, H, T, T])
    const qScaled = tf.mul(linear(h, block, lora, "q", f16Inputs), 1 / Math.sqrt(hd)) as tf.Tensor2D;
    const q = tf.reshape(tf.transpose(applyRope(qScaled, batch, seqLen, H, hd, tables), toHeads), [batch, KV, group * seqLen, hd]);
    const k = tf.transpose(applyRope(linear(h, block, lora, "k", f16Inputs), batch, seqLen, KV, hd, tables), toHeads); // [B, KV, T, hd]
    const v = tf.transpose(tf.reshape(linear(h, block, lora, "v", f16Inputs), [batch, seqLen, KV, hd]), toHeads); // [B, KV, T, hd]
    const scores = tf.reshape(tf.matMul(q, k, false, true), [batch * KV, group, seqLen, seqLen]); // [B·KV, G, T, T]
    const weights = tf.reshape(tf.softmax(tf.add(scores, tables.causalMask)), [batch, KV, group * seqLen, seqLen]);
    const mixed = tf.reshape(tf.matMul(weights, v), [batch, H, seqLen, hd]);
    const merged = tf.reshape(tf.transpose(mixed, toHeads), [batch * seqLen, H * hd]);
    return linear(merged as tf.Tensor2D, block, lora, "o", f16Inputs);
}

function feedForward(h: tf.Tensor2D, block: BlockWeights, lora: BlockLora | undefined, f16Inputs: boolean): tf.Tensor2D {
    const gate = linear(h, block, lora, "gate", f16Inputs);
    const swish = tf.mul(gate, tf.sigmoid(gate)); // SiLU
    return linear(tf.mul(swish, linear(h, block, lora, "up", f16Inputs)), block, lora, "down", f16Inputs);
}

/** The final hidden states after the output norm: [B·T, d]. */
export function llamaHidden(hp: LlamaHparams, w: LlamaWeights, tokens: tf.Tensor2D, lora?: LoraStack): tf.Tensor2D {
    const [batch, seqLen] = tokens.shape;
    const tables = positionTables(hp, seqLen);
    let x = tf.gather(w.tokenEmbd, tf.reshape(tokens, [-1])) as tf.Tensor2D; // [B·T, d]
    w.blocks.forEach((block, layer) => {
        const blockLora = lora?.[layer];
        x = tf.add(x, attention(rmsNorm(x, block.attnNorm, hp.rmsEpsilon), hp, block, blockLora, w.f16MatmulInputs, batch, seqLen, tables));
        x = tf.add(x, feedForward(rmsNorm(x, block.ffnNorm, hp.rmsEpsilon), block, blockLora, w.f16MatmulInputs));
    });
    return rmsNorm(x, w.outputNorm, hp.rmsEpsilon);
}

/** The output head on final hidden states: [N, d] → [N, vocab] (tied: token_embd). */
export function outputLogits(w: LlamaWeights, hidden: tf.Tensor2D): tf.Tensor2D {
    if (w.output !== null) return baseMatMul(hidden, w.output, w.f16MatmulInputs);
    const input = w.f16MatmulInputs ? roundToF16Precision(hidden) : hidden;
    return tf.matMul(input, w.tokenEmbd, false, true);
}

/** Logits for every position of a batch of token sequences: int32 [B, T] → [B·T, vocab]. */
export function llamaLogits(hp: LlamaHparams, w: LlamaWeights, tokens: tf.Tensor2D, lora?: LoraStack): tf.Tensor2D {
    return outputLogits(w, llamaHidden(hp, w, tokens, lora));
}
