import { LORA_TARGETS, type LoraTarget } from "../src/gguf/constants.js";
import type { LlamaHparams } from "../src/gguf/llamaHparams.js";
import type { TrainingMode } from "../src/train/trainStep.js";

/** A training-throughput case: a model shape, a batch, a mode. Shared by the tfjs and PyTorch benches. */
export interface TrainingCase {
    name: string;
    hp: LlamaHparams;
    mode: TrainingMode;
    batchSize: number; // sequences per step
    seqLen: number; // tokens per sequence
    loraRank: number;
    loraAlpha: number;
    /** the projections a LoRA case adapts */
    loraTargets: LoraTarget[];
    steps: number; // timed steps after one warm-up step
}

function llamaShape(d: number, layers: number, heads: number, kvHeads: number, ffn: number, vocab: number): LlamaHparams {
    return {
        architecture: "llama",
        vocabSize: vocab,
        contextLength: 2048,
        embeddingLength: d,
        blockCount: layers,
        feedForwardLength: ffn,
        headCount: heads,
        headCountKv: kvHeads,
        headDim: d / heads,
        ropeDimensionCount: d / heads,
        ropeFreqBase: 10000,
        rmsEpsilon: 1e-5,
        tiedOutput: true
    };
}

const device = llamaShape(128, 4, 4, 2, 352, 1024);
const server = llamaShape(256, 6, 8, 4, 704, 1024);
const smolLm2 = llamaShape(576, 30, 9, 3, 1536, 49152); // SmolLM2-135M

// q,k,v,o: the shape the engine was first measured on; all seven: what `crayon build-pool` trains by default
const lora = { loraRank: 8, loraAlpha: 16, loraTargets: ["q", "k", "v", "o"] as LoraTarget[] };
const loraAll = { ...lora, loraTargets: [...LORA_TARGETS] };
export const TRAINING_CASES: TrainingCase[] = [
    { name: "device", hp: device, mode: "lora", batchSize: 8, seqLen: 128, steps: 6, ...lora },
    { name: "device (build-pool)", hp: device, mode: "lora", batchSize: 8, seqLen: 128, steps: 6, ...loraAll },
    { name: "device", hp: device, mode: "full", batchSize: 8, seqLen: 128, steps: 6, ...lora },
    { name: "server", hp: server, mode: "lora", batchSize: 8, seqLen: 128, steps: 4, ...lora },
    { name: "server", hp: server, mode: "full", batchSize: 8, seqLen: 128, steps: 4, ...lora },
    { name: "smollm2-135m", hp: smolLm2, mode: "lora", batchSize: 2, seqLen: 128, steps: 3, ...lora }
];

/**
 * The synthetic batch both benches train on: token ids from a fixed LCG, next-token targets, and the
 * loss on the second half of each sequence (like answer tokens after a prompt).
 */
export function syntheticBatch(c: TrainingCase): { inputs: Int32Array; targets: Int32Array; lossMask: Float32Array } {
    const n = c.batchSize * c.seqLen;
    const stream = new Int32Array(n + 1);
    let state = 12345;
    for (let i = 0; i <= n; i++) {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        stream[i] = state % c.hp.vocabSize;
    }
    const inputs = stream.slice(0, n);
    const targets = stream.slice(1, n + 1);
    const lossMask = new Float32Array(n).map((_, i) => (i % c.seqLen >= c.seqLen / 2 ? 1 : 0));
    return { inputs, targets, lossMask };
}
