import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { blendAdapters } from "../../blend/blendAdapters.js";
import { promptText, SCORING_MODES } from "../../data/prompt.js";
import { readGguf } from "../../gguf/reader.js";
import { blendCoverage, coverageLine, coverageWarning } from "../../blend/coverage.js";
import { ROUTING_POLICIES } from "../../hybrid/policy.js";
import { openBaseEmbedder } from "../../pool/baseEmbedder.js";
import type { Embedder } from "../../pool/embed.js";
import { loadPool } from "../../pool/loadPool.js";
import { DeviceModel } from "../../runtime/deviceModel.js";
import { defaultLlamaThreads, LlamaRuntime } from "../../runtime/llama.js";
import { ModelCache } from "../../runtime/modelCache.js";
import { ServerClient } from "../../runtime/serverClient.js";
import { describeAdapter } from "../../ui/adapterLabel.js";
import { CHAT_HELP, ChatSession } from "../../ui/chatSession.js";
import { runLineChat } from "../../ui/lineChat.js";
import { adapterFileOption, choiceOption, examplesFileOption, integerOption, modelFileOption, numberInRangeOption, positiveNumberOption, urlOption } from "../optionValues.js";
import { DEFAULT_DEVICE_MODEL } from "../../defaults.js";

/** The embedded device model, used when `--model` is not given. */

interface ChatOptions {
    scoring?: string;
    model: string;
    adapter?: string;
    pool?: string;
    blendDir: string;
    examples?: string;
    server?: string;
    serverModel: string;
    apiKey?: string;
    timeout: string;
    topLogprobs: string;
    policy: string;
    threshold?: string;
    scopeThreshold?: string;
    serverShare: string;
    threads: string;
    lines?: boolean;
}

/** `crayon chat`: the device model with its adapter, routing to a server; ink UI on a terminal, line mode otherwise. */
export function registerChatCommand(program: Command): void {
    program
        .command("chat")
        .description("chat with the device model and its blended adapter, routing hard or out-of-scope questions to a server")
        .option("--model <file>", "device llama GGUF", DEFAULT_DEVICE_MODEL)
        .option("--adapter <file>", "LoRA adapter to apply (e.g. one written by crayon blend)")
        .option("--pool <dir>", "pool to re-blend from when examples are loaded")
        .option("--blend-dir <dir>", "where re-blended adapters are written", path.join(os.tmpdir(), "crayon-blends"))
        .option("--examples <file>", "your examples (.jsonl or .csv), loaded as with /examples")
        .option("--server <url>", "OpenAI-compatible base URL of the server model, e.g. http://127.0.0.1:8080/v1")
        .option("--server-model <id>", "model id on the server", "server")
        .option("--api-key <key>", "API key for the server (default: $CRAYON_API_KEY if set)")
        .option("--timeout <ms>", "server timeout per attempt", "10000")
        .option("--top-logprobs <n>", "alternatives the server reports at the answer position; the option letters must be among them", "20")
        .option("--policy <name>", "device, server, confidence, scope or confidence+scope", "confidence")
        .option("--threshold <θ>", "route when the device's confidence is below θ (default: calibrated from the examples, else 0.5)")
        .option("--scope-threshold <σ>", "route when the similarity to the examples is below σ (default: calibrated)")
        .option("--server-share <share>", "share of the examples the calibrated thresholds route (0–1)", "0.3")
        .option("--threads <number>", "llama.cpp threads", String(defaultLlamaThreads()))
        .option("--scoring <letter|cloze>", "how an answer is read from the model: letter probabilities, or each option's likelihood (default: as the pool's adapters were trained; cloze without a pool)")
        .option("--lines", "line mode even on a terminal: one message per input line, one answer per output line")
        .action(async (options: ChatOptions) => {
            const policy = choiceOption(options.policy, ROUTING_POLICIES, "--policy");
            const threads = integerOption(options.threads, "--threads", 1);
            const server = options.server === undefined ? undefined : {
                baseUrl: urlOption(options.server, "--server"), model: options.serverModel, apiKey: options.apiKey ?? process.env.CRAYON_API_KEY,
                timeoutMs: positiveNumberOption(options.timeout, "--timeout"), topLogprobs: integerOption(options.topLogprobs, "--top-logprobs", 1)
            };
            const confidenceThreshold = options.threshold === undefined ? undefined : numberInRangeOption(options.threshold, "--threshold", 0, 1);
            const scopeThreshold = options.scopeThreshold === undefined ? undefined : numberInRangeOption(options.scopeThreshold, "--scope-threshold", -1, 1);
            const serverShare = numberInRangeOption(options.serverShare, "--server-share", 0, 1);
            await modelFileOption(options.model, "--model");
            if (options.adapter !== undefined) await adapterFileOption(options.adapter, "--adapter", options.model);
            if (options.examples !== undefined) await examplesFileOption(options.examples, "--examples");
            const runtime = await LlamaRuntime.create({ threads });
            const cache = new ModelCache(runtime);
            let embedder: Embedder | undefined;
            try {
                const pool = options.pool === undefined ? undefined : await loadPool(options.pool, { baseModelPath: options.model });
                // the pool's pooling, so that the examples land where its centroids were computed
                const embed = async (texts: readonly string[]) => (embedder ??= await openBaseEmbedder(runtime, options.model, { pooling: pool?.manifest.embedder.pooling ?? "mean" })).embed(texts);
                const device = new DeviceModel(cache, options.model);
                const scoring = options.scoring === undefined ? (pool?.manifest.scoring ?? "cloze") : choiceOption(options.scoring, SCORING_MODES, "--scoring");
                const session = new ChatSession({
                    scoring,
                    device,
                    server: server === undefined ? undefined : new ServerClient(server),
                    serverLabel: options.server,
                    policy,
                    confidenceThreshold,
                    scopeThreshold,
                    serverShare,
                    embed,
                    blend: pool === undefined ? undefined : async (examples) => {
                        const base = await readGguf(options.model);
                        const result = await blendAdapters(pool, examples, { out: options.blendDir, base, embed: (items) => embed(items.map(promptText)) });
                        if (result.similarities === undefined) return { adapterPath: result.adapterPath, notes: [] };
                        const coverage = blendCoverage(result.adapterIds, result.similarities, result.weights);
                        const warning = coverageWarning(coverage);
                        return { adapterPath: result.adapterPath, notes: warning === undefined ? [coverageLine(coverage)] : [coverageLine(coverage), warning] };
                    },
                    describeAdapter
                });
                await session.setAdapter(options.adapter);
                // a damaged model or a foreign adapter is refused now, in either mode, not at the first question
                await device.load();
                const greeting = [`crayon chat · ${path.basename(options.model)} · ${runtime.describe()}`];
                if (options.examples !== undefined) greeting.push(...(await session.loadExamples(options.examples)));
                if (process.stdin.isTTY && process.stdout.isTTY && options.lines !== true) {
                    // the terminal UI's modules load only for a terminal session (ink and react take ~0.5 s to import)
                    const [{ render }, { createElement }, { ChatApp }] = await Promise.all([import("ink"), import("react"), import("../../ui/ChatApp.js")]);
                    const app = render(createElement(ChatApp, { session, greeting: [...greeting, "type /help for commands", ...CHAT_HELP.slice(0, 1)] }), { exitOnCtrlC: false });
                    await app.waitUntilExit();
                } else {
                    for (const line of greeting) process.stderr.write(`${line}\n`);
                    const failures = await runLineChat(session, process.stdin, process.stdout);
                    if (failures > 0) {
                        process.stderr.write(`crayon: ${failures} message${failures === 1 ? "" : "s"} got an error instead of an answer\n`);
                        process.exitCode = 1;
                    }
                }
            } finally {
                await embedder?.dispose();
                await cache.dispose();
                await runtime.dispose();
            }
        });
}
