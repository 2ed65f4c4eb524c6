/** The server as OpenAI clients expect it: model names, usage in streams, and a request log without text. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import * as tf from "@tensorflow/tfjs";
import type { LlamaContext } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { projectRoot } from "../../src/version.js";
import { startOpenAiServer, type RunningServer } from "../../src/runtime/server/openaiServer.js";
import { formatRequestLog, type RequestLogEntry } from "../../src/runtime/server/requestLog.js";
import { writeTestModel } from "./fixtures.js";

let dir: string;
let modelPath: string;
let runtime: LlamaRuntime;
let context: LlamaContext;
let server: RunningServer;
let client: OpenAI;
const log: RequestLogEntry[] = [];
const PROMPT = "is the cat on the mat?";

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-serve-requests-"));
    modelPath = path.join(dir, "server.gguf");
    await writeTestModel(modelPath, 29);
    runtime = await LlamaRuntime.create({ threads: 1 });
    const model = await runtime.loadModel(modelPath);
    context = await runtime.createContext(model, { contextSize: 256 });
    server = await startOpenAiServer({ served: { id: "server", model, sequence: context.getSequence() }, onResponse: (entry) => log.push(entry) });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
    await server.close();
    await context.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

/** The log entry of the latest request, once its response has closed. */
async function lastEntry(): Promise<RequestLogEntry> {
    const count = log.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(log.length).toBeGreaterThanOrEqual(count);
    return log.at(-1)!;
}

describe("serve as OpenAI clients expect it", () => {
    it("answers a model it does not serve with 404 model_not_found, and no model with 400", async () => {
        const messages = [{ role: "user" as const, content: PROMPT }];
        await expect(client.chat.completions.create({ model: "gpt-4", messages, max_tokens: 2 })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
        await expect(client.completions.create({ model: "gpt-4", prompt: PROMPT, max_tokens: 2 })).rejects.toMatchObject({ status: 404, code: "model_not_found" });
        const noModel = await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages, max_tokens: 2 }) });
        expect(noModel.status).toBe(400);
        expect(((await noModel.json()) as { error: { message: string } }).error.message).toMatch(/"model" is required: this server serves "server"/);
    });

    it("ends a stream with the usage when stream_options.include_usage is set, and only then", async () => {
        const request = { model: "server", messages: [{ role: "user" as const, content: PROMPT }], max_tokens: 6, temperature: 0, stream: true as const };
        const chunks = [];
        for await (const chunk of await client.chat.completions.create({ ...request, stream_options: { include_usage: true } })) chunks.push(chunk);
        const last = chunks.at(-1)!;
        expect(last.choices).toEqual([]);
        const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content !== undefined && c.choices[0].delta.role === undefined);
        expect(last.usage!.completion_tokens).toBe(contentChunks.length);
        expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
        const entry = await lastEntry();
        expect(entry).toMatchObject({ method: "POST", path: "/v1/chat/completions", status: 200, promptTokens: last.usage!.prompt_tokens, completionTokens: contentChunks.length });
        // the same tokens as without streaming
        const whole = await client.chat.completions.create({ ...request, stream: false });
        expect(whole.usage).toEqual(last.usage);
        const plain = [];
        for await (const chunk of await client.chat.completions.create(request)) plain.push(chunk);
        expect(plain.every((c) => c.usage === undefined || c.usage === null)).toBe(true);
        await expect(client.chat.completions.create({ ...request, stream: false, stream_options: { include_usage: true } })).rejects.toMatchObject({ status: 400 });
    });

    it("logs one line per request with method, path, status, time and tokens, never the text", async () => {
        const completion = await client.completions.create({ model: "server", prompt: PROMPT, max_tokens: 3, temperature: 0 });
        const entry = await lastEntry();
        expect(entry).toMatchObject({ method: "POST", path: "/v1/completions", status: 200, promptTokens: completion.usage!.prompt_tokens, completionTokens: completion.usage!.completion_tokens });
        const line = formatRequestLog(entry);
        expect(line).toMatch(/^POST \/v1\/completions 200 \d+ ms \d+\+\d+ tokens$/);
        await fetch(`${server.url}/v1/nothing?q=${encodeURIComponent(PROMPT)}`);
        expect(formatRequestLog(await lastEntry())).toMatch(/^GET \/v1\/nothing 404 \d+ ms$/);
        for (const e of log) expect(formatRequestLog(e)).not.toMatch(/cat|mat/);
    });
});

/** `crayon serve [extra]` as a process: answers one completion, then stops on SIGINT; its stderr. */
async function serveOnce(extra: string[]): Promise<string> {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "serve", "--model", modelPath, "--port", "0", "--threads", "1", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    const url = await new Promise<string>((resolve) => child.stdout.on("data", (chunk: Buffer) => resolve(/listening on (\S+)/.exec(chunk.toString())![1]!)));
    const response = await fetch(`${url}/completions`, { method: "POST", body: JSON.stringify({ model: "server", prompt: PROMPT, max_tokens: 2 }) });
    expect(response.status).toBe(200);
    child.kill("SIGINT");
    await exited;
    return stderr;
}

describe("crayon serve's request log", () => {
    it("is one line per request on stderr, and --quiet silences it", async () => {
        const [logged, quiet] = await Promise.all([serveOnce([]), serveOnce(["--quiet"])]);
        expect(logged).toMatch(/^POST \/v1\/completions 200 \d+ ms \d+\+\d+ tokens$/m);
        expect(quiet).not.toMatch(/POST/);
        for (const stderr of [logged, quiet]) expect(stderr).not.toContain(PROMPT);
    });
});
