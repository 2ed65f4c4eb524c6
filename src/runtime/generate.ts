import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { CrayonError } from "../errors.js";
import { createRng } from "../data/random.js";
import { sequenceLogitsAt } from "./llama.js";

export interface GenerateOptions {
    /** tokens to generate at most; fewer when the model ends the text or the context is full */
    maxTokens: number;
    /** 0 (default) = greedy; otherwise sample from softmax(logits / temperature) */
    temperature?: number;
    /** seed of the sampler when temperature > 0; default 0 */
    seed?: number;
    /** how many of the most probable alternatives to report per token; default 0 */
    topLogprobs?: number;
    /** checked before each token: generation stops when it returns true (a client went away) */
    shouldStop?: () => boolean;
}

export interface TokenAlternative {
    token: Token;
    /** the token's text as it continues the text before it */
    text: string;
    /** natural log of its probability */
    logprob: number;
}

export interface GeneratedToken extends TokenAlternative {
    /** the `topLogprobs` most probable next tokens at this step, most probable first */
    top: TokenAlternative[];
}

/**
 * Generates a continuation of `prompt` (token ids, BOS included by the caller) on a sequence whose history
 * is cleared first. Every step reads the full next-token distribution, so each token comes with its
 * log-probability: what the completions API reports and what chat uses as a free-text confidence.
 */
export async function* generateTokens(model: LlamaModel, sequence: LlamaContextSequence, prompt: readonly Token[], options: GenerateOptions): AsyncGenerator<GeneratedToken> {
    const { temperature = 0, topLogprobs = 0 } = options;
    const room = sequence.contextSize - prompt.length;
    if (prompt.length === 0) throw new CrayonError("the prompt is empty");
    if (room < 0) throw new CrayonError(`the prompt is ${prompt.length} tokens; the context holds ${sequence.contextSize}`);
    const maxTokens = Math.min(options.maxTokens, room);
    const rng = createRng(options.seed ?? 0);
    const history = [...prompt];
    await sequence.clearHistory();
    let logits = (await sequenceLogitsAt(sequence, prompt, [prompt.length - 1]))[0]!;
    for (let step = 0; step < maxTokens && options.shouldStop?.() !== true; step++) {
        const logprobs = logSoftmax(logits, 1);
        const token = (temperature > 0 ? sample(logSoftmax(logits, temperature), rng.next()) : argmax(logprobs)) as Token;
        if (model.isEogToken(token)) return;
        const describe = (t: Token): TokenAlternative => ({ token: t, text: model.detokenize([t], false, history.slice(-8)), logprob: logprobs[t]! });
        yield { ...describe(token), top: topTokens(logprobs, topLogprobs).map((t) => describe(t as Token)) };
        history.push(token);
        if (step + 1 < maxTokens) logits = (await sequenceLogitsAt(sequence, [token], [0]))[0]!;
    }
}

/** log softmax(logits / temperature): [vocab] */
export function logSoftmax(logits: Float32Array, temperature: number): Float64Array {
    const logTotal = logSumExp(logits, temperature);
    return Float64Array.from(logits, (value) => value / temperature - logTotal);
}

/** log p(token) under next-token logits, without the whole distribution: what scoring needs per token. */
export function logSoftmaxAt(logits: Float32Array, token: number): number {
    return logits[token]! - logSumExp(logits, 1);
}

/** log Σ exp(logit / temperature), shifted by the largest for stability. */
function logSumExp(logits: Float32Array, temperature: number): number {
    let max = -Infinity;
    for (const value of logits) max = Math.max(max, value / temperature);
    let total = 0;
    for (const value of logits) total += Math.exp(value / temperature - max);
    return max + Math.log(total);
}

function argmax(values: ArrayLike<number>): number {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
    return best;
}

/** Inverse-CDF sampling with `uniform` in [0, 1). */
function sample(logprobs: Float64Array, uniform: number): number {
    let cumulative = 0;
    for (let i = 0; i < logprobs.length; i++) {
        cumulative += Math.exp(logprobs[i]!);
        if (uniform < cumulative) return i;
    }
    return argmax(logprobs);
}

/** The `count` most probable token ids, most probable first. */
export function topTokens(logprobs: Float64Array, count: number): number[] {
    if (count <= 0) return [];
    return Array.from(logprobs.keys()).sort((a, b) => logprobs[b]! - logprobs[a]!).slice(0, count);
}
