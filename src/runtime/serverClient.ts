import type { QaItem } from "../data/item.js";
import { answerContinuation, formatPrompt } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import { scoresFromLogits, type OptionScores } from "./scoring.js";
import type { ChatMessage } from "./chatTemplate.js";

export interface ServerClientOptions {
    /** the OpenAI base URL, ending in /v1, e.g. "http://127.0.0.1:8080/v1" */
    baseUrl: string;
    /** the model id the server knows, e.g. "server" (see GET /v1/models) */
    model: string;
    apiKey?: string;
    /** ms one attempt may take; default 30 000 */
    timeoutMs?: number;
    /** further attempts after a 5xx, a 429, a timeout or a network error; default 2 */
    retries?: number;
    /** ms before the first retry, doubled for each next one; default 250 */
    backoffMs?: number;
    /** alternatives asked for at the answer position; default 20 (OpenAI itself allows 5, llama.cpp and vLLM more) */
    topLogprobs?: number;
}

export interface ChatOptions {
    /** tokens; default 128 */
    maxTokens?: number;
}

/** A refusal that a retry cannot fix (4xx other than 429): the request itself is wrong. */
class RequestRefused extends CrayonError {}

/**
 * A client of any OpenAI-compatible server (Crayon's own, llama.cpp's llama-server, vLLM, Ollama).
 * It sends exactly what it is given — a query's text — and nothing else about the user.
 */
export class ServerClient {
    private readonly timeoutMs: number;
    private readonly retries: number;
    private readonly backoffMs: number;
    private readonly topLogprobs: number;

    constructor(private readonly options: ServerClientOptions) {
        this.timeoutMs = options.timeoutMs ?? 30_000;
        this.retries = options.retries ?? 2;
        this.backoffMs = options.backoffMs ?? 250;
        this.topLogprobs = options.topLogprobs ?? 20;
    }

    get baseUrl(): string {
        return this.options.baseUrl.replace(/\/+$/, "");
    }

    /**
     * The server's answer to a multiple-choice item: the log-probabilities of the option letters as the
     * next token after "Answer:" (the token whose text is " A", " B", …), renormalised over the options. An option missing from the server's top
     * alternatives gets −∞ (probability 0); when none is there the server's answer is unusable.
     */
    async scoreItem(item: QaItem): Promise<OptionScores> {
        const response = await this.post("/completions", {
            model: this.options.model, prompt: formatPrompt(item), max_tokens: 1, temperature: 0, logprobs: this.topLogprobs
        });
        const alternatives = topAlternatives(response);
        const optionLogprobs = item.choices.map((_, i) => alternatives.find(([text]) => text === answerContinuation(i))?.[1] ?? -Infinity);
        if (optionLogprobs.every((lp) => lp === -Infinity)) {
            throw new CrayonError(`server ${this.baseUrl}: no option letter among the ${this.topLogprobs} most probable next tokens; ask for more with topLogprobs`);
        }
        return scoresFromLogits(optionLogprobs);
    }

    /** A chat answer, greedy. */
    async chat(messages: readonly ChatMessage[], { maxTokens = 128 }: ChatOptions = {}): Promise<string> {
        const response = await this.post("/chat/completions", { model: this.options.model, messages, max_tokens: maxTokens, temperature: 0 });
        const content = (response as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
        if (typeof content !== "string") throw new CrayonError(`server ${this.baseUrl}: the chat answer has no message content`);
        return content;
    }

    private async post(route: string, body: object): Promise<unknown> {
        const url = `${this.baseUrl}${route}`;
        let lastProblem = "";
        for (let attempt = 0; attempt <= this.retries; attempt++) {
            if (attempt > 0) await sleep(this.backoffMs * 2 ** (attempt - 1));
            try {
                const response = await fetch(url, {
                    method: "POST",
                    headers: { "content-type": "application/json", ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
                    body: JSON.stringify(body),
                    signal: AbortSignal.timeout(this.timeoutMs)
                });
                const text = await response.text();
                if (response.ok) return JSON.parse(text);
                const problem = `HTTP ${response.status}: ${errorMessage(text)}`;
                if (response.status !== 429 && response.status < 500) throw new RequestRefused(`server ${url} refused the request: ${problem}`);
                lastProblem = problem;
            } catch (error) {
                if (error instanceof RequestRefused) throw error;
                lastProblem = networkProblem(error, this.timeoutMs);
            }
        }
        throw new CrayonError(`server ${url} unreachable: ${lastProblem} (after ${this.retries + 1} attempts)`);
    }
}

/** (token text, logprob) at the first generated position, from either logprobs shape servers use. */
function topAlternatives(response: unknown): Array<[string, number]> {
    const logprobs = (response as { choices?: Array<{ logprobs?: unknown }> }).choices?.[0]?.logprobs as
        | { top_logprobs?: Array<Record<string, number>>; content?: Array<{ top_logprobs?: Array<{ token: string; logprob: number }> }> }
        | undefined;
    const legacy = logprobs?.top_logprobs?.[0];
    if (legacy !== undefined) return Object.entries(legacy);
    const chatStyle = logprobs?.content?.[0]?.top_logprobs;
    if (chatStyle !== undefined) return chatStyle.map(({ token, logprob }) => [token, logprob]);
    throw new CrayonError("the server's completion has no top_logprobs; it may not support logprobs");
}

function errorMessage(text: string): string {
    try {
        const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
        if (typeof message === "string") return message;
    } catch {
        // not JSON: show the start of the text
    }
    return text.slice(0, 200).replace(/\s+/g, " ");
}

function networkProblem(error: unknown, timeoutMs: number): string {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (error as Error).message;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
