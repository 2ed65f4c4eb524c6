import { createServer, type Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import type { LlamaContext, LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatPrompt } from "../../src/data/prompt.js";
import { ItemEncoder, tokenizePrompt } from "../../src/runtime/encode.js";
import { ItemScorer } from "../../src/runtime/scoring.js";
import { LlamaRuntime, logitsAt } from "../../src/runtime/llama.js";
import { sumContinuationLogprobs, type ContinuationLoglikelihood } from "../../src/runtime/optionLoglikelihood.js";
import { startOpenAiServer, type RunningServer } from "../../src/runtime/server/openaiServer.js";
import { ServerClient } from "../../src/runtime/serverClient.js";
import { testItems, writeTestModel } from "./fixtures.js";

const TOLERANCE = 1e-3;
let dir: string;
let runtime: LlamaRuntime;
let model: LlamaModel;
let servedContext: LlamaContext;
let localContext: LlamaContext;
let server: RunningServer;
let openai: OpenAI;
let client: ServerClient;

beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-echo-"));
    const modelPath = path.join(dir, "server.gguf");
    await writeTestModel(modelPath, 29);
    runtime = await LlamaRuntime.create({ threads: 1 });
    model = await runtime.loadModel(modelPath);
    // both contexts keep the KV cache in F32 (the default), so the two computations agree to float rounding
    servedContext = await runtime.createContext(model, { contextSize: 256 });
    localContext = await runtime.createContext(model, { contextSize: 256 });
    server = await startOpenAiServer({ served: { id: "server", model, sequence: servedContext.getSequence() } });
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
    client = new ServerClient({ baseUrl: `${server.url}/v1`, model: "server", retries: 0 });
});

afterAll(async () => {
    await server.close();
    await servedContext.dispose();
    await localContext.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

/** log p(tokens[i] | tokens[<i]) from node-llama-cpp's logits on a context of its own, softmax in float64; null first. */
async function localTokenLogprobs(tokens: readonly Token[]): Promise<Array<number | null>> {
    const logits = await logitsAt(localContext, tokens, tokens.map((_, i) => i));
    return tokens.map((token, i) => (i === 0 ? null : logprobOf(logits[i - 1]!, token)));
}

function logprobOf(logits: Float32Array, token: number): number {
    const max = Math.max(...logits);
    const logTotal = max + Math.log(logits.reduce((sum, value) => sum + Math.exp(value - max), 0));
    return logits[token]! - logTotal;
}

/** Local cloze scoring of one continuation: node-llama-cpp on token ids, the shared common-prefix rule. */
async function localLoglikelihood(context: string, continuation: string): Promise<ContinuationLoglikelihood> {
    const full = tokenizePrompt(model, context + continuation);
    const logprobs = await localTokenLogprobs(full);
    const { logprob, tokenCount } = sumContinuationLogprobs(tokenizePrompt(model, context), full, logprobs);
    const [last] = await logitsAt(localContext, full, [full.length - 1]);
    return { logprob, tokenCount, byteLength: Buffer.byteLength(continuation), endOfSequenceLogprob: logprobOf(last!, model.tokens.eos!) };
}

function expectSame(remote: ContinuationLoglikelihood, local: ContinuationLoglikelihood): void {
    expect(remote.tokenCount).toBe(local.tokenCount);
    expect(remote.byteLength).toBe(local.byteLength);
    expect(Math.abs(remote.logprob - local.logprob)).toBeLessThan(TOLERANCE);
    if (remote.endOfSequenceLogprob !== undefined) expect(Math.abs(remote.endOfSequenceLogprob - local.endOfSequenceLogprob!)).toBeLessThan(TOLERANCE);
}

describe("/v1/completions with echo and logprobs, through the official openai client", () => {
    it("returns every prompt token with the log-probability local evaluation gives it", async () => {
        const prompt = formatPrompt(testItems()[0]!) + " two";
        const completion = await openai.completions.create({ model: "server", prompt, echo: true, logprobs: 3, max_tokens: 0, temperature: 0 });
        const [choice] = completion.choices;
        const logprobs = choice!.logprobs!;
        const local = await localTokenLogprobs(tokenizePrompt(model, prompt));
        expect(choice!.text).toBe(prompt);
        expect(completion.usage).toMatchObject({ prompt_tokens: local.length, completion_tokens: 0 });
        expect(logprobs.tokens).toHaveLength(local.length);
        expect(logprobs.tokens!.join("")).toBe(prompt);
        logprobs.tokens!.forEach((_, i) => expect(logprobs.text_offset![i]).toBe(logprobs.tokens!.slice(0, i).join("").length));
        expect(logprobs.token_logprobs![0]).toBeNull();
        expect(logprobs.top_logprobs![0]).toBeNull();
        for (let i = 1; i < local.length; i++) {
            expect(Math.abs(logprobs.token_logprobs![i]! - local[i]!)).toBeLessThan(TOLERANCE);
            const top = Object.values(logprobs.top_logprobs![i]!);
            expect(top.length).toBeGreaterThan(0);
            expect(Math.max(...top)).toBeGreaterThanOrEqual(logprobs.token_logprobs![i]! - 1e-9);
        }
    });

    it("echoes and then generates, the generated tokens after the prompt's", async () => {
        const prompt = "the question is";
        const completion = await openai.completions.create({ model: "server", prompt, echo: true, logprobs: 1, max_tokens: 2, temperature: 0 });
        const generated = await openai.completions.create({ model: "server", prompt, logprobs: 1, max_tokens: 2, temperature: 0 });
        const { prompt_tokens: promptTokens, completion_tokens: completionTokens } = completion.usage!;
        expect(completion.choices[0]!.text).toBe(prompt + generated.choices[0]!.text);
        expect(completion.choices[0]!.logprobs!.tokens).toHaveLength(promptTokens + completionTokens);
        expect(completion.choices[0]!.logprobs!.token_logprobs!.slice(promptTokens)).toEqual(generated.choices[0]!.logprobs!.token_logprobs);
    });

    it("refuses bad echo requests with a 400 that names the field", async () => {
        const bad = async (body: object, route = "completions") => {
            const response = await fetch(`${server.url}/v1/${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "server", ...body }) });
            return { status: response.status, message: ((await response.json()) as { error: { message: string } }).error.message };
        };
        expect(await bad({ prompt: "hi", echo: "yes", logprobs: 1 })).toEqual({ status: 400, message: `"echo" must be true or false, found "yes"` });
        expect(await bad({ prompt: "hi", echo: true, logprobs: 5000 })).toMatchObject({ status: 400, message: expect.stringMatching(/"logprobs" must be an integer from 0 to 1000/) });
        expect(await bad({ prompt: "hi", echo: true, max_tokens: -1 })).toMatchObject({ status: 400, message: expect.stringMatching(/"max_tokens"/) });
        expect(await bad({ prompt: "and ".repeat(300), echo: true, logprobs: 1, max_tokens: 0 })).toMatchObject({ status: 400, message: expect.stringMatching(/the context holds 256/) });
        expect(await bad({ messages: [{ role: "user", content: "hi" }], echo: true }, "chat/completions")).toEqual({ status: 400, message: `"echo" is not supported by this server` });
    });
});

describe("ServerClient.continuationLoglikelihoods against local scoring", () => {
    it("gives each option of an item the log-likelihood, token count and bytes local scoring gives it, and the end-of-sequence term", async () => {
        for (const item of testItems()) {
            const context = formatPrompt(item);
            const continuations = item.choices.map((choice) => ` ${choice}`);
            const remote = await client.continuationLoglikelihoods(context, continuations, { endOfSequence: true });
            const plain = await client.continuationLoglikelihoods(context, continuations);
            for (const [i, continuation] of continuations.entries()) {
                const local = await localLoglikelihood(context, continuation);
                expectSame(remote[i]!, local);
                expect(remote[i]!.endOfSequenceLogprob).toBeLessThan(0);
                expect(plain[i]).toEqual({ logprob: remote[i]!.logprob, tokenCount: remote[i]!.tokenCount, byteLength: remote[i]!.byteLength });
            }
        }
    });

    it("scores a token merged across the context's end as the continuation's, as local scoring does", async () => {
        const context = "what is the ans";
        const contextTokens = tokenizePrompt(model, context);
        const full = tokenizePrompt(model, `${context}wer`);
        // the premise: "ans" + "wer" become one token, so the context's tokens are not a prefix of the whole
        expect(full.length).toBe(contextTokens.length);
        expect(full.at(-1)).not.toBe(contextTokens.at(-1));
        const [remote] = await client.continuationLoglikelihoods(context, ["wer"]);
        const local = await localLoglikelihood(context, "wer");
        expect(remote!.tokenCount).toBe(1);
        expectSame(remote!, local);
    });

    it("falls back to max_tokens 1 where a server refuses 0, with the same figures", async () => {
        const seen: number[] = [];
        const refusing = await startRefusingProxy(server.url, seen);
        try {
            const viaProxy = new ServerClient({ baseUrl: `${refusing.url}/v1`, model: "server", retries: 0 });
            const context = formatPrompt(testItems()[1]!);
            const [direct, proxied] = [await client.continuationLoglikelihoods(context, [" yes", " no"]), await viaProxy.continuationLoglikelihoods(context, [" yes", " no"])];
            for (const [i, expected] of direct.entries()) {
                expect(proxied[i]!.tokenCount).toBe(expected.tokenCount);
                expect(Math.abs(proxied[i]!.logprob - expected.logprob)).toBeLessThan(1e-9);
            }
            // one refused request, then every request with one generated token
            expect(seen).toEqual([0, 1, 1, 1]);
        } finally {
            await new Promise((resolve) => refusing.server.close(resolve));
        }
    });

    it("says so when the server does not read the end-of-sequence text as a token", async () => {
        const wrongText = new ServerClient({ baseUrl: `${server.url}/v1`, model: "server", retries: 0, endOfSequenceText: "<|endoftext|>" });
        await expect(wrongText.continuationLoglikelihoods("is it", [" yes"], { endOfSequence: true })).rejects.toThrow(/was not read as the end-of-sequence token .* set endOfSequenceText/);
    });
});

/** A loopback proxy in front of the server that refuses `max_tokens: 0`, as vLLM does, and records what it was asked. */
async function startRefusingProxy(target: string, seen: number[]): Promise<{ server: Server; url: string }> {
    const proxy = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", async () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const maxTokens = (JSON.parse(body) as { max_tokens: number }).max_tokens;
            seen.push(maxTokens);
            if (maxTokens === 0) {
                res.writeHead(400, { "content-type": "application/json" });
                res.end(JSON.stringify({ error: { message: "max_tokens must be at least 1, got 0." } }));
                return;
            }
            const answer = await fetch(`${target}${req.url}`, { method: "POST", headers: { "content-type": "application/json" }, body });
            res.writeHead(answer.status, { "content-type": "application/json" });
            res.end(await answer.text());
        });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    return { server: proxy, url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` };
}

describe("cloze scores of items: the server through the client against the device's own scorer", () => {
    it("gives every option the log-likelihood ItemScorer gives it locally, within 1e-3, the end of sequence included where scored", async () => {
        const numbers = { id: "t/3", source: "test", task: "t", question: "the biggest of 7, 73 and 5?", choices: ["7", "73", "5"], answer: 1 };
        const items = [...testItems(), numbers].map((item) => ({ ...item, scoring: "cloze" as const }));
        const local = await new ItemScorer(localContext.getSequence(), new ItemEncoder(model, "server.gguf")).scoreAll(items);
        for (const [i, item] of items.entries()) {
            const remote = await client.scoreItem(item);
            remote.cloze!.logLikelihoods.forEach((ll, j) => expect(Math.abs(ll - local[i]!.cloze!.logLikelihoods[j]!)).toBeLessThan(TOLERANCE));
            expect(remote.cloze!.byteLengths).toEqual(local[i]!.cloze!.byteLengths);
            expect(remote.choice).toBe(local[i]!.choice);
        }
    });
});
