import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { ItemEncoder } from "./encode.js";
import { sequenceLogitsAt } from "./llama.js";

/** A model's answer to a multiple-choice item. */
export interface OptionScores {
    /** probability of each option, summing to 1: [choices] */
    probabilities: number[];
    /** index of the most probable option */
    choice: number;
    /** probability of `choice`: the device confidence the router thresholds */
    confidence: number;
}

/**
 * Option probabilities from next-token logits: a softmax over the option letters' logits only. This is
 * the same as the full-vocabulary probabilities renormalised over the options (the other tokens' mass
 * cancels), and it is what a remote server's log-probabilities give after the same renormalisation.
 */
export function optionProbabilities(logits: ArrayLike<number>, optionTokens: readonly Token[]): OptionScores {
    return scoresFromLogits(optionTokens.map((token) => logits[token]!));
}

/** Softmax over per-option logits (or log-probabilities; −∞ for an option never seen gives it 0). */
export function scoresFromLogits(optionLogits: readonly number[]): OptionScores {
    const max = Math.max(...optionLogits);
    if (!Number.isFinite(max)) throw new RangeError("no option has a finite logit");
    const exps = optionLogits.map((logit) => Math.exp(logit - max));
    const total = exps.reduce((sum, e) => sum + e, 0);
    const probabilities = exps.map((e) => e / total);
    const choice = probabilities.indexOf(Math.max(...probabilities));
    return { probabilities, choice, confidence: probabilities[choice]! };
}

/**
 * Scores items one after another on one sequence: one forward pass of the prompt per item, read at
 * the answer position. The sequence's history is cleared between items instead of making a new
 * context, which keeps the adapters of the context loaded once.
 */
export class ItemScorer {
    constructor(private readonly sequence: LlamaContextSequence, private readonly encoder: ItemEncoder) {}

    async score(item: QaItem): Promise<OptionScores> {
        const { prompt, optionTokens } = this.encoder.encode(item);
        await this.sequence.clearHistory();
        const [logits] = await sequenceLogitsAt(this.sequence, prompt, [prompt.length - 1]);
        return optionProbabilities(logits!, optionTokens);
    }

    async scoreAll(items: readonly QaItem[]): Promise<OptionScores[]> {
        const scores: OptionScores[] = [];
        for (const item of items) scores.push(await this.score(item));
        return scores;
    }
}
