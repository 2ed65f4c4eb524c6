import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { LlamaContext } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMultipleChoice } from "../../src/hybrid/parseMessage.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { startOpenAiServer, type RunningServer } from "../../src/runtime/server/openaiServer.js";
import { projectRoot } from "../../src/version.js";
import { writeTestModel } from "../runtime/fixtures.js";

let dir: string;
let runtime: LlamaRuntime;
let context: LlamaContext;
let server: RunningServer;
let devicePath: string;

beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-chat-"));
    devicePath = path.join(dir, "device.gguf");
    await writeTestModel(devicePath, 3);
    const serverPath = path.join(dir, "server.gguf");
    await writeTestModel(serverPath, 4);
    runtime = await LlamaRuntime.create({ threads: 1 });
    const model = await runtime.loadModel(serverPath);
    context = await runtime.createContext(model, { contextSize: 256 });
    server = await startOpenAiServer({ served: { id: "server", model, sequence: context.getSequence() } });
});

afterAll(async () => {
    await server.close();
    await context.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

/** Runs `crayon chat` with piped stdin and returns its stdout lines and exit code. */
function chat(args: string[], input: string[]): Promise<{ lines: string[]; code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), "chat", "--model", devicePath, "--threads", "1", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input.map((line) => `${line}\n`).join(""));
    return new Promise((resolve) => child.on("exit", (code) => resolve({ lines: stdout.split("\n").filter(Boolean), code, stderr })));
}

describe("parsing a chat message", () => {
    it("finds lettered options on several lines or one, and leaves free text alone", () => {
        expect(parseMultipleChoice("Capital of France?\nA. Paris\nB) Rome\nC. Oslo")).toMatchObject({ question: "Capital of France?", choices: ["Paris", "Rome", "Oslo"] });
        expect(parseMultipleChoice("Is it? A. yes B. no")).toMatchObject({ question: "Is it?", choices: ["yes", "no"] });
        expect(parseMultipleChoice("tell me about A. Lincoln")).toBeUndefined();
        expect(parseMultipleChoice("hello there")).toBeUndefined();
    });
});

describe("crayon chat in line mode", () => {
    it("answers one line per message, tags device and server, obeys slash commands and exits cleanly", async () => {
        const question = "what is the answer? A. one B. two C. three";
        const { lines, code, stderr } = await chat(["--server", `${server.url}/v1`, "--top-logprobs", "1000", "--policy", "device"], [
            question, "/policy server", question, "hello there", "/server off", question, "/quit", "never read"
        ]);
        expect(code, stderr).toBe(0);
        expect(lines).toHaveLength(6);
        expect(lines[0]).toMatch(/^\[device 0\.\d\d\] [ABC]\. (one|two|three)$/);
        expect(lines[1]).toMatch(/^policy server .*server on/);
        expect(lines[2]).toMatch(/^\[server [01]\.\d\d\] [ABC]\. /);
        expect(lines[3]).toMatch(/^\[server\] /);
        expect(lines[4]).toMatch(/server off/);
        expect(lines[5]).toMatch(/^\[device 0\.\d\d\] /);
    });

    it("falls back to the device when the server is unreachable, and loads examples", async () => {
        const examples = path.join(dir, "examples.jsonl");
        writeFileSync(examples, ['{"question": "is the cat on the mat?", "choices": ["yes", "no"], "answer": 0}', '{"question": "is the dog on the mat?", "choices": ["yes", "no"], "answer": 1}'].join("\n"));
        const closed = net.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const deadUrl = `http://127.0.0.1:${(closed.address() as net.AddressInfo).port}/v1`;
        await new Promise((resolve) => closed.close(resolve));
        const { lines, code, stderr } = await chat(["--server", deadUrl, "--timeout", "2000", "--policy", "server"], [
            "is it? A. yes B. no", `/examples ${examples}`
        ]);
        expect(code, stderr).toBe(0);
        expect(lines[0]).toBe(`error: server ${deadUrl}/completions unreachable: ECONNREFUSED (after 3 attempts)`);
        expect(lines[1]).toMatch(/^\[device 0\.\d\d fallback\] [AB]\. (yes|no)$/);
        expect(lines[2]).toBe(`2 examples from ${examples}`);
        expect(lines.at(-1)).toMatch(/^calibrated to route 30% of the examples: policy server θ /);
    });
});
