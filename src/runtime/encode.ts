import type { LlamaModel, Token } from "node-llama-cpp";
import { CrayonError } from "../errors.js";
import type { QaItem } from "../data/item.js";
import { OPTION_LETTERS, formatPrompt } from "../data/prompt.js";

/** An item as token ids: what training feeds the model and what scoring reads the answer from. */
export interface EncodedItem {
    /** BOS (when the model wants one), then the prompt ending in "Answer:" */
    prompt: Token[];
    /** the token of each option's letter as it follows "Answer:" (" A" → one token) */
    optionTokens: Token[];
    answer: number;
}

/**
 * Tokenizes through node-llama-cpp itself (a vocab-only load is enough), so training, scoring and chat
 * split text exactly as llama.cpp does. llama.cpp's SentencePiece tokenizer prefixes a text with a
 * space, so tokenizing the bare letter "A" gives the token that " A" becomes after "Answer:".
 */
export class ItemEncoder {
    private readonly letterTokens: Token[];

    constructor(private readonly model: LlamaModel, modelPath: string) {
        this.letterTokens = OPTION_LETTERS.map((letter) => {
            const tokens = model.tokenize(letter);
            if (tokens.length !== 1) {
                throw new CrayonError(
                    `${modelPath}: the answer letter " ${letter}" is ${tokens.length} tokens, not one; Crayon scores an option by its letter's token (use a vocabulary with the pieces " A"…" H")`
                );
            }
            return tokens[0]!;
        });
    }

    encode(item: QaItem): EncodedItem {
        return {
            prompt: tokenizePrompt(this.model, formatPrompt(item)),
            optionTokens: this.letterTokens.slice(0, item.choices.length),
            answer: item.answer
        };
    }
}

/** A text as the start of a model's input: BOS first when the model wants one (`model.tokenize` adds none). */
export function tokenizePrompt(model: LlamaModel, text: string): Token[] {
    const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
    return [...bos, ...model.tokenize(text)];
}
