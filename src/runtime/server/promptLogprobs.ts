import type { LlamaModel, Token } from "node-llama-cpp";
import { logSoftmax, topTokens, type TokenAlternative } from "../generate.js";
import { sequenceLogitsAt } from "../llama.js";
import type { ServedModel } from "./completions.js";

/** One prompt token as `echo` reports it. */
export interface EchoedToken {
    /** the text this token adds to the prompt ("" for the BOS the server put in front) */
    text: string;
    /** log p(token | the tokens before it); null for the first token, which nothing predicts */
    logprob: number | null;
    /** the most probable tokens at this position, most probable first; empty for the first token */
    top: TokenAlternative[];
}

/** a UTF-8 character is at most 4 bytes, so at most 4 byte tokens wait for one another */
const MAX_PENDING_BYTES = 4;

/**
 * The prompt's tokens with their log-probabilities, from one evaluation of the prompt that reads the
 * logits after every position: log softmax of the logits at position i, at token i + 1. The sequence is
 * cleared first, as generation does.
 */
export async function promptLogprobs(served: ServedModel, prompt: readonly Token[], topCount: number, addedBos: boolean): Promise<EchoedToken[]> {
    await served.sequence.clearHistory();
    const positions = prompt.slice(0, -1).map((_, i) => i);
    const logits = positions.length > 0 ? await sequenceLogitsAt(served.sequence, prompt, positions) : [];
    const texts = tokenTexts(served.model, prompt, addedBos);
    return prompt.map((token, i) => {
        if (i === 0) return { text: texts[0]!, logprob: null, top: [] };
        const logprobs = logSoftmax(logits[i - 1]!, 1);
        const before = prompt.slice(Math.max(0, i - 8), i);
        const top = topTokens(logprobs, topCount).map((t): TokenAlternative => ({
            token: t as Token, text: served.model.detokenize([t as Token], false, before), logprob: logprobs[t]!
        }));
        return { text: texts[i]!, logprob: logprobs[token]!, top };
    });
}

/**
 * Each token's share of the prompt text, so that the texts join to the prompt and their running lengths
 * are `text_offset`. Special tokens written in the prompt ("</s>") read as written; the BOS the server
 * added reads as "". A character split over byte tokens is given to the token that completes it.
 */
function tokenTexts(model: LlamaModel, tokens: readonly Token[], addedBos: boolean): string[] {
    const texts: string[] = [];
    // the added BOS is left out of the detokenizer's look-back: after "<s>" it would keep the leading space
    const textFrom = addedBos ? 1 : 0;
    let pendingFrom = 0;
    tokens.forEach((_, i) => {
        if (i === 0 && addedBos) {
            texts.push("");
            pendingFrom = 1;
            return;
        }
        const pending = tokens.slice(pendingFrom, i + 1);
        const text = model.detokenize(pending, true, tokens.slice(Math.max(textFrom, pendingFrom - 8), pendingFrom));
        if (text.endsWith("\uFFFD") && pending.length < MAX_PENDING_BYTES && i + 1 < tokens.length) {
            texts.push("");
            return;
        }
        texts.push(text);
        pendingFrom = i + 1;
    });
    return texts;
}
