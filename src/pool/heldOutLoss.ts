import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { ItemEncoder } from "../runtime/encode.js";
import type { AdapterRef, LlamaRuntime } from "../runtime/llama.js";
import { ItemScorer } from "../runtime/scoring.js";

export interface AnswerMetrics {
    /** mean gold loss (nats, see ItemScores.goldLoss): what the adapters are trained to lower */
    loss: number;
    /** share of items whose chosen option is the gold one, 0–1 */
    accuracy: number;
    /** per item, in the order given: whether its chosen option is the gold one */
    correct: boolean[];
}

/**
 * How well a model answers items, alone or with adapters applied, each scored as its `scoring` says. It
 * runs through llama.cpp on the written GGUF files, so it also proves an adapter works where it will be used.
 */
export async function answerMetrics(runtime: LlamaRuntime, model: LlamaModel, encoder: ItemEncoder, items: readonly QaItem[], adapters: AdapterRef[] = []): Promise<AnswerMetrics> {
    if (items.length === 0) return { loss: NaN, accuracy: NaN, correct: [] };
    const context = await runtime.createContext(model, { adapters, contextSize: model.trainContextSize });
    const sequence = context.getSequence();
    try {
        const scores = await new ItemScorer(sequence, encoder).scoreAll(items);
        const correct = scores.map((score, i) => score.choice === items[i]!.answer);
        const loss = scores.reduce((sum, score) => sum + score.goldLoss, 0) / items.length;
        return { loss, accuracy: correct.filter(Boolean).length / items.length, correct };
    } finally {
        sequence.dispose();
        await context.dispose();
    }
}
