import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { HybridRouter } from "../../src/hybrid/router.js";
import { TaskScope, type EmbedTexts } from "../../src/hybrid/taskScope.js";
import { DeviceModel } from "../../src/runtime/deviceModel.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { ModelCache } from "../../src/runtime/modelCache.js";
import { ItemScorer } from "../../src/runtime/scoring.js";
import { ServerClient } from "../../src/runtime/serverClient.js";
import { startOpenAiServer, type RunningServer } from "../../src/runtime/server/openaiServer.js";
import { testItems, writeTestAdapter, writeTestModel } from "../runtime/fixtures.js";

const embed: EmbedTexts = async (texts) => texts.map((text) => Float32Array.from({ length: 8 }, (_, i) => text.length % (i + 2) + 1));

/** The user's private examples: none of their text may reach the server. */
const examples: QaItem[] = [
    { id: "u/0", source: "user", task: "secret", question: "quokka zebra private example one?", choices: ["marmalade", "tangerine"], answer: 0 },
    { id: "u/1", source: "user", task: "secret", question: "narwhal okapi private example two?", choices: ["lavender", "persimmon"], answer: 1 }
];

let dir: string;
let runtime: LlamaRuntime;
let cache: ModelCache;
let serverContext: LlamaContext;
let servedSequence: LlamaContextSequence;
let server: RunningServer;
let proxy: net.Server;
let proxyUrl: string;
let adapterPath: string;
/** every byte the device side sent towards the server */
const sent: Buffer[] = [];

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-privacy-"));
    const devicePath = path.join(dir, "device.gguf");
    const serverPath = path.join(dir, "server.gguf");
    adapterPath = path.join(dir, "custom.gguf");
    const hp = await writeTestModel(devicePath, 5);
    await writeTestAdapter(adapterPath, hp, 77);
    await writeTestModel(serverPath, 6);
    runtime = await LlamaRuntime.create({ threads: 1 });
    cache = new ModelCache(runtime);
    const serverModel = await runtime.loadModel(serverPath);
    serverContext = await runtime.createContext(serverModel, { contextSize: 256 });
    servedSequence = serverContext.getSequence();
    server = await startOpenAiServer({ served: { id: "server", model: serverModel, sequence: servedSequence } });
    // a capturing TCP proxy in front of the server: what crosses it is what a network observer sees
    const target = new URL(server.url);
    proxy = net.createServer((client) => {
        const upstream = net.connect(Number(target.port), target.hostname);
        client.on("data", (chunk: Buffer) => sent.push(Buffer.from(chunk)));
        client.pipe(upstream).pipe(client);
        client.on("error", () => upstream.destroy());
        upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as net.AddressInfo).port}/v1`;
});

afterAll(async () => {
    await new Promise((resolve) => proxy.close(resolve));
    await server.close();
    await serverContext.dispose();
    await cache.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

describe("a hybrid session on the wire", () => {
    it("scores an item remotely exactly as the server model scores it locally", async () => {
        const client = new ServerClient({ baseUrl: proxyUrl, model: "server", topLogprobs: 1000 });
        const serverModel = serverContext.model;
        // the server's own sequence, used in turn with the requests (each awaited)
        const local = new ItemScorer(servedSequence, new ItemEncoder(serverModel, "server.gguf"));
        for (const item of testItems()) {
            const remote = await client.scoreItem(item);
            const expected = await local.score(item);
            remote.probabilities.forEach((p, i) => expect(p).toBeCloseTo(expected.probabilities[i]!, 4));
        }
    });

    it("sends the routed queries and nothing of the user's examples or adapter", async () => {
        const device = new DeviceModel(cache, path.join(dir, "device.gguf"), [{ path: adapterPath, scale: 1 }]);
        const scope = await TaskScope.fromExamples(embed, examples);
        const server = new ServerClient({ baseUrl: proxyUrl, model: "server", topLogprobs: 1000 });
        const router = new HybridRouter({ policy: "server", thresholds: {}, server, scope });
        sent.length = 0;
        const queries = testItems();
        for (const query of queries) expect((await router.answerItem(query, device)).via).toBe("server");
        expect((await router.answerText("is the cat on the mat?", device)).via).toBe("server");

        const wire = Buffer.concat(sent);
        for (const query of queries) expect(wire.includes(query.question)).toBe(true);
        expect(wire.includes("is the cat on the mat?")).toBe(true);
        for (const example of examples) {
            for (const text of [example.question, ...example.choices]) expect(wire.includes(text)).toBe(false);
        }
        const adapter = readFileSync(adapterPath);
        expect(wire.includes(path.basename(adapterPath))).toBe(false);
        // 16-byte windows of the adapter's tensor data, far past the header
        for (let offset = adapter.length - 16; offset > adapter.length / 2; offset -= Math.floor(adapter.length / 40)) {
            expect(wire.includes(adapter.subarray(offset, offset + 16))).toBe(false);
        }
    });
});
