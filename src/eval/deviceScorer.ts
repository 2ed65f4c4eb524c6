import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { ItemEncoder } from "../runtime/encode.js";
import type { AdapterRef, LlamaRuntime } from "../runtime/llama.js";
import { ItemScorer } from "../runtime/scoring.js";
import { scoredItem, type ScoredItem } from "./scoredItem.js";

/**
 * The device model, loaded once, scoring items under one adapter set at a time: a context is made for the
 * set, every item is scored on its one sequence, and the context is released. node-llama-cpp keeps each
 * adapter file loaded for the model's lifetime, which the eval bounds: the pool plus tasks × methods blends.
 */
export class DeviceScorer {
    private readonly encoder: ItemEncoder;

    constructor(private readonly runtime: LlamaRuntime, private readonly model: LlamaModel, modelPath: string) {
        this.encoder = new ItemEncoder(model, modelPath);
    }

    async score(adapters: readonly AdapterRef[], items: readonly QaItem[], onItem?: () => void): Promise<ScoredItem[]> {
        const context = await this.runtime.createContext(this.model, { contextSize: this.model.trainContextSize, adapters: [...adapters] });
        try {
            const scorer = new ItemScorer(context.getSequence(), this.encoder);
            const scored: ScoredItem[] = [];
            for (const item of items) {
                scored.push(scoredItem(item, await scorer.score(item)));
                onItem?.();
            }
            return scored;
        } finally {
            await context.dispose();
        }
    }
}
