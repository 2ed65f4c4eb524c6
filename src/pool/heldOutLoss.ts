import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { ItemEncoder } from "../runtime/encode.js";
import { sequenceLogitsAt, type AdapterRef, type LlamaRuntime } from "../runtime/llama.js";

/**
 * Mean answer-token cross-entropy (nats) of items under the base model, or with adapters applied:
 * −log p(gold letter | prompt) over the full vocabulary, the quantity the adapters are trained to lower.
 * It runs through llama.cpp on the written GGUF files, so it also proves an adapter works where it will be used.
 */
export async function answerLoss(runtime: LlamaRuntime, model: LlamaModel, encoder: ItemEncoder, items: readonly QaItem[], adapters: AdapterRef[] = []): Promise<number> {
    if (items.length === 0) return NaN;
    const longest = Math.max(...items.map((item) => encoder.encode(item).prompt.length));
    const context = await runtime.createContext(model, { adapters, contextSize: Math.max(64, Math.ceil((longest + 1) / 64) * 64) });
    const sequence = context.getSequence();
    try {
        let total = 0;
        for (const item of items) {
            const { prompt, optionTokens, answer } = encoder.encode(item);
            await sequence.clearHistory();
            const [logits] = await sequenceLogitsAt(sequence, prompt, [prompt.length - 1]);
            total += logSumExp(logits!) - logits![optionTokens[answer]!]!;
        }
        return total / items.length;
    } finally {
        sequence.dispose();
        await context.dispose();
    }
}

function logSumExp(values: Float32Array): number {
    let max = -Infinity;
    for (const v of values) max = Math.max(max, v);
    let sum = 0;
    for (const v of values) sum += Math.exp(v - max);
    return max + Math.log(sum);
}
