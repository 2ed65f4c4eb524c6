import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { OPTION_LETTERS } from "../src/data/prompt.js";
import { defaultPieces, writeRandomLlamaModel } from "../src/model/randomModel.js";
import { LlamaRuntime } from "../src/runtime/llama.js";
import { startOpenAiServer } from "../src/runtime/server/openaiServer.js";
import { SPM_SPACE } from "../src/tokenizer/spmVocab.js";
import { DEFAULT_SERVER_MODEL } from "../src/defaults.js";

export interface ServeLoadOptions {
    /** default: the embedded server model if present, else a small random model */
    modelPath?: string;
    /** concurrent clients; default 32 */
    clients?: number;
    /** ms of load; default 20 000 */
    durationMs?: number;
    /** tokens per chat answer; default 8 */
    chatTokens?: number;
    /** llama.cpp threads; default 1: the load clients share the process, and 2 threads on 2 busy cores collapse */
    threads?: number;
}

export interface ServeLoadReport {
    model: string;
    clients: number;
    seconds: number;
    requests: number;
    /** HTTP status → count; a network error counts under 0 */
    statuses: Record<number, number>;
    /** requests/s */
    throughput: number;
    /** ms */
    p50: number;
    p95: number;
    /** MB resident after warm-up, then once a second under load: flat after the first seconds = stable */
    rssMb: number[];
}

/**
 * Load on `crayon serve`'s server, in-process over loopback: `clients` clients each send, back to back,
 * a scoring request (1 token, top-10 log-probabilities) then a chat request, for `durationMs`.
 */
export async function measureServeLoad(options: ServeLoadOptions = {}): Promise<ServeLoadReport> {
    const { clients = 32, durationMs = 20_000, chatTokens = 8 } = options;
    const scratch = mkdtempSync(path.join(os.tmpdir(), "crayon-serve-load-"));
    const runtime = await LlamaRuntime.create({ threads: options.threads ?? 1 });
    try {
        const modelPath = options.modelPath ?? (existsSync(DEFAULT_SERVER_MODEL) ? DEFAULT_SERVER_MODEL : await randomModel(scratch));
        const model = await runtime.loadModel(modelPath);
        const context = await runtime.createContext(model, { contextSize: Math.min(model.trainContextSize, 512) });
        const server = await startOpenAiServer({ served: { id: "server", model, sequence: context.getSequence() }, maxPending: clients * 2 });
        const base = `${server.url}/v1`;
        const requests = [
            ["/completions", { model: "server", prompt: "Which is larger?\nA. two\nB. three\nAnswer:", max_tokens: 1, temperature: 0, logprobs: 10 }],
            ["/chat/completions", { model: "server", messages: [{ role: "user", content: "what is the answer?" }], max_tokens: chatTokens, temperature: 0 }]
        ] as const;
        const send = async ([route, body]: (typeof requests)[number]): Promise<number> => {
            try {
                const response = await fetch(`${base}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
                await response.arrayBuffer();
                return response.status;
            } catch {
                return 0;
            }
        };

        for (const request of requests) await send(request); // warm-up
        const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
        const rssMb = [mb(process.memoryUsage().rss)];
        const sampler = setInterval(() => rssMb.push(mb(process.memoryUsage().rss)), 1000);
        const latencies: number[] = [];
        const statuses: Record<number, number> = {};
        const started = performance.now();
        const deadline = started + durationMs;
        await Promise.all(Array.from({ length: clients }, async (_, client) => {
            for (let i = client; performance.now() < deadline; i++) {
                const t0 = performance.now();
                const status = await send(requests[i % requests.length]!);
                latencies.push(performance.now() - t0);
                statuses[status] = (statuses[status] ?? 0) + 1;
            }
        }));
        const seconds = (performance.now() - started) / 1000;
        clearInterval(sampler);
        await server.close();
        await context.dispose();
        await model.dispose();
        latencies.sort((a, b) => a - b);
        return {
            model: path.basename(modelPath),
            clients,
            seconds,
            requests: latencies.length,
            statuses,
            throughput: latencies.length / seconds,
            p50: quantile(latencies, 0.5),
            p95: quantile(latencies, 0.95),
            rssMb
        };
    } finally {
        await runtime.dispose();
        rmSync(scratch, { recursive: true, force: true });
    }
}

export function formatServeLoad(report: ServeLoadReport): string {
    const fiveHundreds = Object.entries(report.statuses).filter(([status]) => Number(status) >= 500).reduce((sum, [, n]) => sum + n, 0);
    return [
        `model ${report.model}, ${report.clients} clients, ${report.seconds.toFixed(1)} s`,
        `requests ${report.requests} (status counts ${JSON.stringify(report.statuses)}; 5xx ${fiveHundreds})`,
        `throughput ${report.throughput.toFixed(1)} requests/s, latency p50 ${report.p50.toFixed(0)} ms, p95 ${report.p95.toFixed(0)} ms`,
        `rss MB after warm-up, then each second: ${report.rssMb.join(" ")}`
    ].join("\n");
}

/** For bench/run.ts: measure with the defaults and print. */
export async function runServeLoadBench(): Promise<void> {
    console.log(formatServeLoad(await measureServeLoad()));
}

function quantile(sorted: readonly number[], q: number): number {
    if (sorted.length === 0) return NaN;
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** A stand-in for the server model until the embedded one exists: 4 layers, d = 128. */
async function randomModel(dir: string): Promise<string> {
    const file = path.join(dir, "random-server.gguf");
    await writeRandomLlamaModel(file, {
        embeddingLength: 128, blockCount: 4, headCount: 4, headCountKv: 2, feedForwardLength: 256, contextLength: 512, seed: 1,
        pieces: [...defaultPieces(), ...OPTION_LETTERS.map((letter) => SPM_SPACE + letter)]
    });
    return file;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await runServeLoadBench();
