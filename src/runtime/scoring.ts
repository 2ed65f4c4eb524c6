import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { ItemEncoder } from "./encode.js";
import { logSoftmaxAt } from "./generate.js";
import { sequenceLogitsAt } from "./llama.js";

/** A model's answer to a multiple-choice item. */
export interface OptionScores {
    /** probability of each option, summing to 1: [choices] */
    probabilities: number[];
    /** index of the most probable option (cloze: acc_norm's choice) */
    choice: number;
    /** probability of `choice`: the device confidence the router thresholds */
    confidence: number;
    /**
     * Cloze scoring only: each option's log-likelihood as the continuation of the question (nats, summed
     * over its tokens) and the option that maximises it (lm-evaluation-harness's `acc`; `choice` is `acc_norm`'s).
     */
    cloze?: { logLikelihoods: number[]; byteLengths: number[]; rawChoice: number };
}

/** OptionScores plus how well the gold option is predicted: what adapters are trained and LoraHub searched to lower. */
export interface ItemScores extends OptionScores {
    /**
     * nats: letter, −log p(gold letter | prompt) over the whole vocabulary; cloze, −log p(gold option's
     * tokens | question) per token (the EOS after it included where it is scored)
     */
    goldLoss: number;
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
 * Cloze scores from each option's summed log-likelihood and byte length: `acc` is the arg-max of the sums,
 * `acc_norm` of the sums per byte (lm-evaluation-harness's definitions); the probabilities, and so the
 * router's confidence, are a softmax over the per-byte log-likelihoods, which do not favour short options.
 */
export function clozeScores(logLikelihoods: readonly number[], byteLengths: readonly number[]): OptionScores {
    const normalised = scoresFromLogits(logLikelihoods.map((ll, i) => ll / byteLengths[i]!));
    const rawChoice = logLikelihoods.indexOf(Math.max(...logLikelihoods));
    return { ...normalised, cloze: { logLikelihoods: [...logLikelihoods], byteLengths: [...byteLengths], rawChoice } };
}

/**
 * Scores items one after another on one sequence, each as its `scoring` says (letter by default). Letter:
 * one evaluation of the prompt, read at the answer position. Cloze: the question is evaluated once, and
 * each option as a continuation of it — the option's tokens are appended to the question's KV cache and
 * erased again — so an item costs the question once plus its options' tokens. The sequence's history is
 * cleared between items instead of making a new context, which keeps the context's adapters loaded once.
 */
export class ItemScorer {
    constructor(private readonly sequence: LlamaContextSequence, private readonly encoder: ItemEncoder) {}

    async score(item: QaItem): Promise<ItemScores> {
        return item.scoring === "cloze" ? this.scoreCloze(item) : this.scoreLetter(item);
    }

    async scoreAll(items: readonly QaItem[]): Promise<ItemScores[]> {
        const scores: ItemScores[] = [];
        for (const item of items) scores.push(await this.score(item));
        return scores;
    }

    private async scoreLetter(item: QaItem): Promise<ItemScores> {
        const { prompt, optionTokens, answer } = this.encoder.encode(item);
        await this.sequence.clearHistory();
        const [logits] = await sequenceLogitsAt(this.sequence, prompt, [prompt.length - 1]);
        return { ...optionProbabilities(logits!, optionTokens), goldLoss: -logSoftmaxAt(logits!, optionTokens[answer]!) };
    }

    private async scoreCloze(item: QaItem): Promise<ItemScores> {
        const { options, byteLengths, eos, answer } = this.encoder.encodeCloze(item);
        // the tokens every option shares are evaluated once; each option's rest is appended and erased again
        const shared = Math.min(...options.map((option) => option.start));
        const prefix = options[0]!.tokens.slice(0, shared);
        await this.sequence.clearHistory();
        const [prefixLogits] = await sequenceLogitsAt(this.sequence, prefix, [shared - 1]);
        const logLikelihoods: number[] = [];
        const tokenCounts: number[] = [];
        for (const { tokens, start } of options) {
            const scored = eos === null ? tokens : [...tokens, eos];
            // token j is predicted by the logits after token j − 1: the prefix's last, or those of the tokens fed here
            const fed = scored.slice(shared, -1);
            const fedLogits = fed.length === 0 ? [] : await sequenceLogitsAt(this.sequence, fed, fed.map((_, i) => i));
            let sum = 0;
            for (let j = start; j < scored.length; j++) sum += logSoftmaxAt(j === shared ? prefixLogits! : fedLogits[j - 1 - shared]!, scored[j]!);
            logLikelihoods.push(sum);
            tokenCounts.push(scored.length - start);
            if (fed.length > 0) await this.sequence.eraseContextTokenRanges([{ start: shared, end: this.sequence.nextTokenIndex }]);
        }
        return { ...clozeScores(logLikelihoods, byteLengths), goldLoss: -logLikelihoods[answer]! / tokenCounts[answer]! };
    }
}
