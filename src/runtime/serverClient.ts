import type { QaItem } from "../data/item.js";
import { answerContinuation, clozeContinuation, clozeScoresEndOfSequence, formatClozeContext, formatPrompt } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import { clozeScores, scoresFromLogits, type OptionScores } from "./scoring.js";
import { sumContinuationLogprobs, type ContinuationLoglikelihood } from "./optionLoglikelihood.js";
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
    /** the text the server reads as the end-of-sequence token in a prompt; default "</s>" (llama's SentencePiece vocabularies, Crayon's models) */
    endOfSequenceText?: string;
}

export interface ContinuationOptions {
    /** also the log-probability of the end-of-sequence token right after each continuation; default false */
    endOfSequence?: boolean;
}

/** One prompt token of an echoed completion: the server's text for it, where it starts, its log-probability. */
interface EchoedToken {
    text: string;
    offset: number;
    logprob: number | null;
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
    private readonly endOfSequenceText: string;
    /** 0 until a server refuses to echo without generating; then 1, and the generated token is dropped */
    private echoMaxTokens = 0;

    constructor(private readonly options: ServerClientOptions) {
        this.timeoutMs = options.timeoutMs ?? 30_000;
        this.retries = options.retries ?? 2;
        this.backoffMs = options.backoffMs ?? 250;
        this.topLogprobs = options.topLogprobs ?? 20;
        this.endOfSequenceText = options.endOfSequenceText ?? "</s>";
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
        if (item.scoring === "cloze") return this.scoreCloze(item);
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

    /** Cloze scores from the server's log-likelihoods of the options, exactly as local scoring forms them. */
    private async scoreCloze(item: QaItem): Promise<OptionScores> {
        const endOfSequence = clozeScoresEndOfSequence(item.choices);
        const options = await this.continuationLoglikelihoods(formatClozeContext(item), item.choices.map(clozeContinuation), { endOfSequence });
        return clozeScores(options.map((o) => o.logprob + (o.endOfSequenceLogprob ?? 0)), options.map((o) => o.byteLength));
    }

    /**
     * Each continuation's log-likelihood after `context` under the server's model, as local cloze scoring
     * computes it: the server echoes the prompt's tokens with their log-probabilities (`echo: true`,
     * `logprobs: 1`, `max_tokens: 0`, as llama-server, vLLM and OpenAI's legacy API define them).
     * The client has no tokenizer, so it asks for the context alone once, then for context + continuation,
     * and takes the tokens after the two echoes' common prefix — tokens compared by text and `text_offset`
     * — which is the rule local scoring applies to token ids (see optionLoglikelihood.ts): a token merged
     * across the boundary counts as the continuation's. With `endOfSequence`, the end-of-sequence text is
     * appended to the prompt and its token's log-probability reported. 1 + continuations requests.
     */
    async continuationLoglikelihoods(context: string, continuations: readonly string[], { endOfSequence = false }: ContinuationOptions = {}): Promise<ContinuationLoglikelihood[]> {
        const contextTokens = await this.echo(context);
        const results: ContinuationLoglikelihood[] = [];
        for (const continuation of continuations) {
            if (continuation === "") throw new CrayonError("an empty continuation has no log-likelihood: give each option some text");
            let tokens = await this.echo(context + continuation + (endOfSequence ? this.endOfSequenceText : ""));
            let endOfSequenceLogprob: number | undefined;
            if (endOfSequence) {
                const last = tokens.at(-1)!;
                if (last.text !== this.endOfSequenceText || last.logprob === null) {
                    throw new CrayonError(
                        `server ${this.baseUrl}: "${this.endOfSequenceText}" at the end of a prompt was not read as the end-of-sequence token (the last echoed token is ${JSON.stringify(last.text)}); set endOfSequenceText to the model's end-of-sequence text`
                    );
                }
                endOfSequenceLogprob = last.logprob;
                tokens = tokens.slice(0, -1);
            }
            const { logprob, tokenCount } = sumContinuationLogprobs(contextTokens, tokens, tokens.map((t) => t.logprob), sameEchoedToken);
            results.push({ logprob, tokenCount, byteLength: Buffer.byteLength(continuation, "utf8"), ...(endOfSequence ? { endOfSequenceLogprob } : {}) });
        }
        return results;
    }

    /** A chat answer, greedy. */
    async chat(messages: readonly ChatMessage[], { maxTokens = 128 }: ChatOptions = {}): Promise<string> {
        const response = await this.post("/chat/completions", { model: this.options.model, messages, max_tokens: maxTokens, temperature: 0 });
        const content = (response as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
        if (typeof content !== "string") throw new CrayonError(`server ${this.baseUrl}: the chat answer has no message content`);
        return content;
    }

    /** The prompt's tokens as the server echoes them, without any token it generated. */
    private async echo(prompt: string): Promise<EchoedToken[]> {
        const request = (maxTokens: number) => this.post("/completions", {
            model: this.options.model, prompt, echo: true, logprobs: 1, max_tokens: maxTokens, temperature: 0
        });
        let response: unknown;
        if (this.echoMaxTokens === 0) {
            try {
                response = await request(0);
            } catch (refusal) {
                // vLLM and others refuse to generate nothing; one generated token, dropped, costs little
                if (!(refusal instanceof RequestRefused)) throw refusal;
                response = await request(1).catch(() => Promise.reject(refusal));
                this.echoMaxTokens = 1;
            }
        } else response = await request(this.echoMaxTokens);
        return echoedPromptTokens(response, prompt, this.baseUrl);
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

/**
 * The prompt part of an echoed completion's `logprobs`: every token but the generated ones, counted by
 * `usage.completion_tokens` (or, without usage, by `text_offset` past the prompt's end).
 */
function echoedPromptTokens(response: unknown, prompt: string, baseUrl: string): EchoedToken[] {
    const body = response as { choices?: Array<{ logprobs?: unknown }>; usage?: { completion_tokens?: unknown } };
    const logprobs = body.choices?.[0]?.logprobs as { tokens?: unknown; token_logprobs?: unknown; text_offset?: unknown } | null | undefined;
    const { tokens, token_logprobs: tokenLogprobs, text_offset: offsets } = logprobs ?? {};
    if (!Array.isArray(tokens) || !Array.isArray(tokenLogprobs) || !Array.isArray(offsets) || tokenLogprobs.length !== tokens.length || offsets.length !== tokens.length) {
        throw new CrayonError(`server ${baseUrl}: the echoed completion has no tokens, token_logprobs and text_offset of one length; the server may not support echo with logprobs`);
    }
    const echoed = tokens.map((text, i): EchoedToken => ({ text: String(text), offset: Number(offsets[i]), logprob: typeof tokenLogprobs[i] === "number" ? tokenLogprobs[i] : null }));
    const completionTokens = body.usage?.completion_tokens;
    const generated = typeof completionTokens === "number" ? completionTokens : echoed.filter((t) => t.offset >= prompt.length).length;
    if (echoed.length - generated <= 0) {
        throw new CrayonError(`server ${baseUrl}: the completion's logprobs cover only generated tokens, not the prompt; the server does not implement echo with logprobs`);
    }
    return echoed.slice(0, echoed.length - generated);
}

function sameEchoedToken(a: EchoedToken, b: EchoedToken): boolean {
    return a.text === b.text && a.offset === b.offset;
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
