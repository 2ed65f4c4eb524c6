import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import { clozeContinuation, promptText } from "../data/prompt.js";
import { tokenizePrompt } from "../runtime/encode.js";

/**
 * Whether an item's prompt fits the context of every model that must read it, each with its own
 * tokenizer: the answer is read after the prompt's last token, so the prompt must be shorter than the
 * context (in tokens, as the model's GGUF gives it: a vocabulary-only load reports none). A model trained on short world questions may meet public items with long passages.
 */
export function fitsContexts(models: readonly { tokenizer: LlamaModel; contextSize: number }[]): (item: QaItem) => boolean {
    return (item) => {
        // a cloze item's options are read after its prompt: the longest one must fit too
        const longest = item.scoring === "cloze" ? item.choices.reduce((a, b) => (b.length > a.length ? b : a)) : "";
        const prompt = promptText(item) + (item.scoring === "cloze" ? clozeContinuation(longest) : "");
        return models.every(({ tokenizer, contextSize }) => tokenizePrompt(tokenizer, prompt).length < contextSize);
    };
}
