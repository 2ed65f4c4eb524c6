import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { renderChatPrompt } from "./chatTemplate.js";
import { ItemEncoder, tokenizePrompt } from "./encode.js";
import { generateTokens } from "./generate.js";
import type { AdapterRef } from "./llama.js";
import type { ModelCache } from "./modelCache.js";
import { ItemScorer, type OptionScores } from "./scoring.js";

/**
 * The on-device model with its (blended) adapters: scores items and answers free text, one call at a time.
 * It is the device side of a hybrid router (hybrid/router.ts's DeviceAnswerer) by its shape: runtime sits
 * below hybrid and does not import it.
 */
export class DeviceModel {
    private readonly encoders = new WeakMap<LlamaModel, ItemEncoder>();

    /** `maxAnswerTokens`: tokens of a free-text answer at most; it also ends at the first line break */
    constructor(private readonly cache: ModelCache, readonly modelPath: string, public adapters: AdapterRef[] = [], private readonly maxAnswerTokens = 48) {}

    /** Loads the model with its adapters now, so a damaged file is reported before the first question. */
    async load(): Promise<void> {
        await this.cache.session(this.modelPath, this.adapters);
    }

    async scoreItem(item: QaItem): Promise<OptionScores> {
        const { model, sequence } = await this.cache.session(this.modelPath, this.adapters);
        let encoder = this.encoders.get(model);
        if (encoder === undefined) {
            encoder = new ItemEncoder(model, this.modelPath);
            this.encoders.set(model, encoder);
        }
        return new ItemScorer(sequence, encoder).score(item);
    }

    /** Greedy, one line; the confidence is the geometric mean of the chosen tokens' probabilities. */
    async generate(text: string): Promise<{ text: string; confidence: number }> {
        const { model, sequence } = await this.cache.session(this.modelPath, this.adapters);
        const prompt = tokenizePrompt(model, renderChatPrompt([{ role: "user", content: text }]));
        let answer = "";
        let logprobSum = 0;
        let count = 0;
        for await (const token of generateTokens(model, sequence, prompt, { maxTokens: this.maxAnswerTokens })) {
            if (token.text.includes("\n") && answer.trim() !== "") break;
            answer += token.text;
            logprobSum += token.logprob;
            count++;
        }
        return { text: answer.trim(), confidence: count === 0 ? 0 : Math.exp(logprobSum / count) };
    }
}
