import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import OpenAI from "openai";
import type { LlamaContext } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { startOpenAiServer, type RunningServer } from "../../src/runtime/server/openaiServer.js";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "./fixtures.js";

const apiKey = "test-key";
let dir: string;
let modelPath: string;
let runtime: LlamaRuntime;
let context: LlamaContext;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-serve-"));
    modelPath = path.join(dir, "server.gguf");
    await writeTestModel(modelPath, 23);
    runtime = await LlamaRuntime.create({ threads: 1 });
    const model = await runtime.loadModel(modelPath);
    context = await runtime.createContext(model, { contextSize: 256 });
    server = await startOpenAiServer({ served: { id: "server", model, sequence: context.getSequence() }, apiKey, maxBodyBytes: 4096, maxPending: 2 });
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 });
});

afterAll(async () => {
    await server.close();
    await context.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

async function post(route: string, body: string, key = apiKey): Promise<{ status: number; json: { error?: { message: string } } }> {
    const response = await fetch(`${server.url}${route}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body });
    return { status: response.status, json: (await response.json()) as { error?: { message: string } } };
}

async function expectStillUp(): Promise<void> {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
}

describe("OpenAI-compatible server, through the official openai client", () => {
    it("lists its model", async () => {
        const models = await client.models.list();
        expect(models.data.map((m) => m.id)).toEqual(["server"]);
    });

    it("completes with the top log-probabilities of each token", async () => {
        const completion = await client.completions.create({ model: "server", prompt: "the question is", max_tokens: 3, temperature: 0, logprobs: 5 });
        const [choice] = completion.choices;
        const logprobs = choice!.logprobs!;
        expect(logprobs.tokens).toHaveLength(completion.usage!.completion_tokens);
        expect(logprobs.tokens!.join("")).toBe(choice!.text);
        const first = logprobs.top_logprobs![0]!;
        expect(Object.keys(first).length).toBeGreaterThan(0);
        // greedy: the chosen token is the most probable alternative
        expect(logprobs.token_logprobs![0]).toBeCloseTo(Math.max(...Object.values(first)), 6);
        expect(Object.values(first).reduce((sum, lp) => sum + Math.exp(lp), 0)).toBeLessThanOrEqual(1 + 1e-6);
    });

    it("answers a chat without streaming and the same text when streamed", async () => {
        const request = { model: "server", messages: [{ role: "user" as const, content: "is the cat on the mat?" }], max_tokens: 8, temperature: 0 };
        const whole = await client.chat.completions.create(request);
        expect(whole.choices[0]!.message.role).toBe("assistant");
        const stream = await client.chat.completions.create({ ...request, stream: true });
        let streamed = "";
        let finish: string | null | undefined;
        for await (const chunk of stream) {
            streamed += chunk.choices[0]?.delta.content ?? "";
            finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        expect(streamed).toBe(whole.choices[0]!.message.content);
        expect(finish).toBe(whole.choices[0]!.finish_reason);
    });

    it("refuses a wrong API key with 401", async () => {
        const wrong = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "nope", maxRetries: 0 });
        await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
        await expectStillUp();
    });

    it("answers an oversized body with 413 and malformed JSON with 400, as JSON errors", async () => {
        const big = await post("/v1/completions", JSON.stringify({ model: "server", prompt: "x".repeat(10_000) }));
        expect(big.status).toBe(413);
        expect(big.json.error?.message).toMatch(/larger than 4096 bytes/);
        const broken = await post("/v1/chat/completions", "{\"model\": ");
        expect(broken.status).toBe(400);
        expect(broken.json.error?.message).toMatch(/not valid JSON/);
        await expect(client.completions.create({ model: "server", prompt: "hi", max_tokens: -1 })).rejects.toMatchObject({ status: 400 });
        await expectStillUp();
    });

    it("refuses with 429 when the queue is full, and serves again once it drains", async () => {
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));
        const occupying = [server.queue.run(() => held), server.queue.run(() => Promise.resolve())];
        await expect(client.completions.create({ model: "server", prompt: "hi", max_tokens: 1 })).rejects.toMatchObject({ status: 429 });
        release();
        await Promise.all(occupying);
        await expect(client.completions.create({ model: "server", prompt: "hi", max_tokens: 1 })).resolves.toBeDefined();
    });
});

describe("crayon serve as a child process", () => {
    it("prints its URL, serves, and exits cleanly on SIGTERM", async () => {
        const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "serve", "--model", modelPath, "--port", "0", "--threads", "1"], {
            stdio: ["ignore", "pipe", "pipe"]
        });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
        const lines = createInterface({ input: child.stdout });
        const url = await new Promise<string>((resolve, reject) => {
            lines.on("line", (line) => {
                const match = /listening on (\S+)/.exec(line);
                if (match) resolve(match[1]!);
            });
            child.on("exit", () => reject(new Error(`serve exited before listening: ${stderr}`)));
        });
        const remote = new OpenAI({ baseURL: url, apiKey: "unused", maxRetries: 0 });
        expect((await remote.models.list()).data[0]!.id).toBe("server");
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
        expect(stderr).toMatch(/SIGTERM/);
    });
});
