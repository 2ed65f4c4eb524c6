import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../../data/item.js";
import type { ItemEncoder } from "../../runtime/encode.js";
import type { LlamaRuntime } from "../../runtime/llama.js";
import { ItemScorer } from "../../runtime/scoring.js";
import type { FewShotLoss } from "./lorahubWeights.js";

/**
 * The few-shot loss LoraHub minimises, measured by llama.cpp itself: a context carrying every pool adapter
 * at scale wᵢ computes exactly the blend that `concat` writes, so each candidate is scored by the engine
 * that will run it, without merging weights or loading the model a second time into tfjs. The adapters
 * are loaded once (node-llama-cpp caches them by path); each evaluation only creates a context.
 * Loss: the mean over the examples of their gold loss as each is scored (ItemScores.goldLoss), as in LoRA training.
 */
export function llamaFewShotLoss(runtime: LlamaRuntime, model: LlamaModel, adapterPaths: readonly string[], encoder: ItemEncoder, examples: readonly QaItem[]): FewShotLoss {
    return async (weights) => {
        const adapters = adapterPaths.flatMap((path, i) => (weights[i] === 0 ? [] : [{ path, scale: weights[i]! }]));
        const context = await runtime.createContext(model, { adapters, contextSize: model.trainContextSize });
        try {
            const scores = await new ItemScorer(context.getSequence(), encoder).scoreAll(examples);
            return scores.reduce((sum, score) => sum + score.goldLoss, 0) / examples.length;
        } finally {
            await context.dispose();
        }
    };
}
