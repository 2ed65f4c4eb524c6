import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { tokenizePrompt } from "../encode.js";
import { generateTokens, type GeneratedToken, type TokenAlternative } from "../generate.js";
import { parseChatMessages, renderChatPrompt } from "../chatTemplate.js";
import { HttpError } from "./httpJson.js";
import { promptLogprobs, type EchoedToken } from "./promptLogprobs.js";
import { booleanField, integerField, numberField, objectBody, refuseFields } from "./requestFields.js";

/** The one model a server answers with, on one sequence that requests take turns on. */
export interface ServedModel {
    /** the model id clients name, e.g. "server" */
    id: string;
    model: LlamaModel;
    sequence: LlamaContextSequence;
}

/** The most alternatives per token `logprobs` may ask for: enough to cover every option letter of a small vocabulary. */
export const MAX_TOP_LOGPROBS = 1000;
const MAX_TOKENS_LIMIT = 4096;
const UNSUPPORTED = ["best_of", "suffix", "tools", "functions", "n"] as const;

/** A parsed, validated generation request: everything the queue needs to run it later. */
export interface GenerationRequest {
    prompt: Token[];
    /** the prompt as sent: what `echo` returns */
    promptText: string;
    maxTokens: number;
    temperature: number;
    seed: number;
    /** whether to report each token's log-probability (`logprobs` given, 0 included) */
    logprobs: boolean;
    /** alternatives per token to report with it */
    topLogprobs: number;
    /** completions only: the prompt's tokens come first in the answer, with their log-probabilities */
    echo: boolean;
    stream: boolean;
}

export function parseCompletionRequest(served: ServedModel, raw: unknown): GenerationRequest {
    const body = objectBody(raw);
    refuseFields(body, [...UNSUPPORTED, "stream"]);
    const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof prompt !== "string") throw new HttpError(400, `"prompt" must be a string (or a list of one string)`);
    const logprobs = body.logprobs !== undefined && body.logprobs !== null;
    return {
        // as llama-server reads a completion prompt: "</s>" written in it is the end-of-sequence token,
        // which is how a client asks for the log-probability of the text ending there
        prompt: promptTokens(served, prompt, true),
        promptText: prompt,
        maxTokens: integerField(body, "max_tokens", 16, 0, MAX_TOKENS_LIMIT),
        temperature: numberField(body, "temperature", 1, 0, 2),
        seed: integerField(body, "seed", 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
        logprobs,
        topLogprobs: logprobs ? integerField(body, "logprobs", 0, 0, MAX_TOP_LOGPROBS) : 0,
        echo: booleanField(body, "echo", false),
        stream: false
    };
}

export function parseChatRequest(served: ServedModel, raw: unknown): GenerationRequest {
    const body = objectBody(raw);
    refuseFields(body, [...UNSUPPORTED, "echo"]);
    const messages = parseChatMessages(body.messages);
    const maxTokens = body.max_completion_tokens !== undefined && body.max_completion_tokens !== null ? "max_completion_tokens" : "max_tokens";
    const promptText = renderChatPrompt(messages);
    return {
        prompt: promptTokens(served, promptText, false),
        promptText,
        maxTokens: integerField(body, maxTokens, 128, 1, MAX_TOKENS_LIMIT),
        temperature: numberField(body, "temperature", 1, 0, 2),
        seed: integerField(body, "seed", 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
        logprobs: false,
        topLogprobs: 0,
        echo: false,
        stream: body.stream === true
    };
}

/**
 * POST /v1/completions: the text and, when asked, each token's log-probability and top alternatives.
 * With `echo`, the prompt and its tokens come first, the first token's log-probability null (as OpenAI,
 * vLLM and llama-server report it); `max_tokens: 0` then scores a text without generating.
 */
export async function runCompletion(served: ServedModel, request: GenerationRequest, shouldStop: () => boolean): Promise<object> {
    const echoed: EchoedToken[] = request.echo && request.logprobs
        ? await promptLogprobs(served, request.prompt, request.topLogprobs, addsBos(served))
        : [];
    const generated = request.maxTokens > 0 ? await collect(served, request, shouldStop) : [];
    const generatedText = generated.map((t) => t.text).join("");
    const tokens = [...echoed, ...generated];
    let offset = 0;
    const offsets = tokens.map((t) => (offset += t.text.length) - t.text.length);
    return {
        id: `cmpl-${randomUUID()}`,
        object: "text_completion",
        created: nowSeconds(),
        model: served.id,
        choices: [{
            index: 0,
            text: request.echo ? request.promptText + generatedText : generatedText,
            logprobs: request.logprobs ? {
                tokens: tokens.map((t) => t.text),
                token_logprobs: tokens.map((t) => t.logprob),
                top_logprobs: tokens.map((t) => (t.logprob === null ? null : topLogprobsObject(t.top))),
                text_offset: offsets
            } : null,
            finish_reason: generated.length < request.maxTokens ? "stop" : "length"
        }],
        usage: usage(request, generated.length)
    };
}

/** POST /v1/chat/completions without streaming. */
export async function runChatCompletion(served: ServedModel, request: GenerationRequest, shouldStop: () => boolean): Promise<object> {
    const tokens = await collect(served, request, shouldStop);
    return {
        id: `chatcmpl-${randomUUID()}`,
        object: "chat.completion",
        created: nowSeconds(),
        model: served.id,
        choices: [{
            index: 0,
            message: { role: "assistant", content: tokens.map((t) => t.text).join("").trimStart() },
            finish_reason: tokens.length < request.maxTokens ? "stop" : "length"
        }],
        usage: usage(request, tokens.length)
    };
}

/** POST /v1/chat/completions with `stream: true`: one server-sent event per token, then `[DONE]`. */
export async function streamChatCompletion(served: ServedModel, request: GenerationRequest, res: ServerResponse): Promise<void> {
    const id = `chatcmpl-${randomUUID()}`;
    const created = nowSeconds();
    const send = (delta: object, finishReason: string | null) =>
        res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created, model: served.id, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    send({ role: "assistant", content: "" }, null);
    let count = 0;
    for await (const token of generate(served, request, () => res.destroyed)) {
        send({ content: count === 0 ? token.text.trimStart() : token.text }, null);
        count++;
    }
    send({}, count < request.maxTokens ? "stop" : "length");
    res.end("data: [DONE]\n\n");
}

function generate(served: ServedModel, request: GenerationRequest, shouldStop: () => boolean): AsyncGenerator<GeneratedToken> {
    return generateTokens(served.model, served.sequence, request.prompt, {
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        seed: request.seed,
        topLogprobs: request.topLogprobs,
        shouldStop
    });
}

async function collect(served: ServedModel, request: GenerationRequest, shouldStop: () => boolean): Promise<GeneratedToken[]> {
    const tokens: GeneratedToken[] = [];
    for await (const token of generate(served, request, shouldStop)) tokens.push(token);
    return tokens;
}

/** The prompt's tokens, refused with a 400 when there are none or they leave no room in the context. */
function promptTokens(served: ServedModel, text: string, specialTokens: boolean): Token[] {
    // tokenizePrompt of "" is the BOS the model wants in front, if any
    const tokens = specialTokens ? [...tokenizePrompt(served.model, ""), ...served.model.tokenize(text, true)] : tokenizePrompt(served.model, text);
    if (tokens.length === 0) throw new HttpError(400, `"prompt" is empty: give at least one character`);
    const contextSize = served.sequence.contextSize;
    if (tokens.length >= contextSize) {
        throw new HttpError(400, `the prompt is ${tokens.length} tokens; the context holds ${contextSize}`, "invalid_request_error", "context_length_exceeded");
    }
    return tokens;
}

/** Whether the model's prompts start with a BOS the server puts there (so it is no part of the prompt's text). */
function addsBos({ model }: ServedModel): boolean {
    return tokenizePrompt(model, "").length > 0;
}

/** {text: logprob}; when two tokens read the same (a piece and its bytes), the more probable one is kept. */
function topLogprobsObject(top: readonly TokenAlternative[]): Record<string, number> {
    const object: Record<string, number> = {};
    for (const { text, logprob } of top) if (!Object.hasOwn(object, text)) object[text] = logprob;
    return object;
}

function usage(request: GenerationRequest, completionTokens: number) {
    return { prompt_tokens: request.prompt.length, completion_tokens: completionTokens, total_tokens: request.prompt.length + completionTokens };
}

function nowSeconds(): number {
    return Math.floor(Date.now() / 1000);
}
