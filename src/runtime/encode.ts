import type { LlamaModel, Token } from "node-llama-cpp";
import { CrayonError } from "../errors.js";
import type { QaItem } from "../data/item.js";
import { OPTION_LETTERS, clozeContinuation, clozeScoresEndOfSequence, formatClozeContext, formatPrompt } from "../data/prompt.js";
import { continuationStart } from "./optionLoglikelihood.js";

/** An item as token ids under letter scoring: what training feeds the model and what scoring reads the answer from. */
export interface EncodedItem {
    /** BOS (when the model wants one), then the prompt ending in "Answer:" */
    prompt: Token[];
    /** the token of each option's letter as it follows "Answer:" (" A" → one token) */
    optionTokens: Token[];
    answer: number;
}

/** An item as token ids under cloze scoring. */
export interface ClozeEncodedItem {
    /** per option: BOS (when the model wants one), the question ending in "Answer:", then the option's text */
    options: { tokens: Token[]; /** index of the option's first token in `tokens` */ start: number }[];
    /** UTF-8 bytes of each option's continuation text (" " + option): acc_norm's denominator */
    byteLengths: number[];
    /** The end-of-sequence token to score after each option (see clozeScoresEndOfSequence); null: options are scored as they are. */
    eos: Token | null;
    answer: number;
}

/**
 * Tokenizes through node-llama-cpp itself (a vocab-only load is enough), so training, scoring and chat
 * split text exactly as llama.cpp does. llama.cpp's SentencePiece tokenizer prefixes a text with a
 * space, so tokenizing the bare letter "A" gives the token that " A" becomes after "Answer:".
 */
export class ItemEncoder {
    private letterTokens: Token[] | undefined;

    constructor(private readonly model: LlamaModel, private readonly modelPath: string) {}

    /** The model's end-of-sequence token, which ends a cloze answer in training; null if it has none. */
    get eos(): Token | null {
        return this.model.tokens.eos;
    }

    /** Letter scoring needs each option letter to be one token; a model whose are not is refused on first use. */
    encode(item: QaItem): EncodedItem {
        this.letterTokens ??= OPTION_LETTERS.map((letter) => {
            const tokens = this.model.tokenize(letter);
            if (tokens.length !== 1) {
                throw new CrayonError(
                    `${this.modelPath}: the answer letter " ${letter}" is ${tokens.length} tokens, not one; letter scoring reads an option by its letter's token (use --scoring cloze, or a vocabulary with the pieces " A"…" H")`
                );
            }
            return tokens[0]!;
        });
        return {
            prompt: tokenizePrompt(this.model, formatPrompt(item)),
            optionTokens: this.letterTokens.slice(0, item.choices.length),
            answer: item.answer
        };
    }

    /**
     * Each option as the continuation of the question. An option's tokens are those after the common
     * prefix of tokenize(context) and tokenize(context + option) (lm-evaluation-harness's rule, and what a
     * server's echoed tokens give: continuationStart), so a merge across the boundary is scored the way
     * the model reads the whole text.
     */
    encodeCloze(item: QaItem): ClozeEncodedItem {
        const contextText = formatClozeContext(item);
        const context = tokenizePrompt(this.model, contextText);
        const options = item.choices.map((choice) => {
            const tokens = tokenizePrompt(this.model, contextText + clozeContinuation(choice));
            return { tokens, start: Math.max(1, continuationStart(context, tokens)) };
        });
        return {
            options,
            byteLengths: item.choices.map((choice) => Buffer.byteLength(clozeContinuation(choice), "utf8")),
            eos: clozeScoresEndOfSequence(item.choices) ? this.model.tokens.eos : null,
            answer: item.answer
        };
    }
}

/** A text as the start of a model's input: BOS first when the model wants one (`model.tokenize` adds none). */
export function tokenizePrompt(model: LlamaModel, text: string): Token[] {
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
    return [...bos, ...model.tokenize(text)];
}
