import type { LlamaModel } from "node-llama-cpp";
import { logitsAt, type LlamaRuntime } from "../../runtime/llama.js";
import type { EncodedItem } from "../../runtime/encode.js";
import type { FewShotLoss } from "./lorahubWeights.js";

/**
 * The few-shot loss LoraHub minimises, measured by llama.cpp itself: a context carrying every pool adapter
 * at scale wᵢ computes exactly the blend that `concat` writes, so each candidate is scored by the engine
 * that will run it, without merging weights or loading the model a second time into tfjs. The adapters
 * are loaded once (node-llama-cpp caches them by path); each evaluation only creates a context.
 * Loss: mean over the examples of −log p(gold option letter | prompt), over the whole vocabulary, as in
 * LoRA training.
 */
export function llamaFewShotLoss(runtime: LlamaRuntime, model: LlamaModel, adapterPaths: readonly string[], examples: readonly EncodedItem[]): FewShotLoss {
    return async (weights) => {
        const adapters = adapterPaths.flatMap((path, i) => (weights[i] === 0 ? [] : [{ path, scale: weights[i]! }]));
        const context = await runtime.createContext(model, { adapters, contextSize: contextSizeFor(examples) });
        try {
            let total = 0;
            for (const example of examples) {
                const [logits] = await logitsAt(context, example.prompt, [example.prompt.length - 1]);
                total -= logSoftmaxAt(logits!, example.optionTokens[example.answer]!);
            }
            return total / examples.length;
        } finally {
            await context.dispose();
        }
    };
}

function contextSizeFor(examples: readonly EncodedItem[]): number {
    const longest = Math.max(...examples.map((e) => e.prompt.length));
    return Math.max(64, Math.ceil(longest / 64) * 64);
}

function logSoftmaxAt(logits: Float32Array, index: number): number {
    let top = -Infinity;
    for (const value of logits) top = Math.max(top, value);
    let sum = 0;
    for (const value of logits) sum += Math.exp(value - top);
    return logits[index]! - top - Math.log(sum);
}
