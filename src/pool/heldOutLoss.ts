import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { ItemEncoder } from "../runtime/encode.js";
import { sequenceLogitsAt, type AdapterRef, type LlamaRuntime } from "../runtime/llama.js";

export interface AnswerMetrics {
    /** mean −log p(gold letter | prompt) over the full vocabulary, nats: what the adapters are trained to lower */
    loss: number;
    /** share of items whose most probable option letter is the gold one, 0–1 */
    accuracy: number;
    /** per item, in the order given: whether its most probable option letter is the gold one */
    correct: boolean[];
}

/**
 * How well a model answers items, alone or with adapters applied. It runs through llama.cpp on the
 * written GGUF files, so it also proves an adapter works where it will be used.
 */
export async function answerMetrics(runtime: LlamaRuntime, model: LlamaModel, encoder: ItemEncoder, items: readonly QaItem[], adapters: AdapterRef[] = []): Promise<AnswerMetrics> {
    if (items.length === 0) return { loss: NaN, accuracy: NaN, correct: [] };
    const longest = Math.max(...items.map((item) => encoder.encode(item).prompt.length));
    const context = await runtime.createContext(model, { adapters, contextSize: Math.max(64, Math.ceil((longest + 1) / 64) * 64) });
    const sequence = context.getSequence();
    try {
        let loss = 0;
        const correct: boolean[] = [];
        for (const item of items) {
            const { prompt, optionTokens, answer } = encoder.encode(item);
            await sequence.clearHistory();
            const [logits] = await sequenceLogitsAt(sequence, prompt, [prompt.length - 1]);
            loss += logSumExp(logits!) - logits![optionTokens[answer]!]!;
            const optionLogits = optionTokens.map((token) => logits![token]!);
            correct.push(optionLogits.indexOf(Math.max(...optionLogits)) === answer);
        }
        return { loss: loss / items.length, accuracy: correct.filter(Boolean).length / items.length, correct };
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
