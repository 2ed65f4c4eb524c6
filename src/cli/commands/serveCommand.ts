import path from "node:path";
import type { Command } from "commander";
import { CrayonError } from "../../errors.js";
import { defaultLlamaThreads, LlamaRuntime } from "../../runtime/llama.js";
import { checkListenAddress } from "../../runtime/server/listenAddress.js";
import { startOpenAiServer } from "../../runtime/server/openaiServer.js";
import { formatRequestLog } from "../../runtime/server/requestLog.js";
import { integerOption, modelFileOption } from "../optionValues.js";
import { DEFAULT_SERVER_MODEL } from "../../defaults.js";

/** The embedded server model, used when `--model` is not given. */

interface ServeOptions {
    model: string;
    host: string;
    port: string;
    apiKey?: string;
    threads: string;
    contextSize?: string;
    maxBody: string;
    maxPending: string;
    quiet?: boolean;
}

/** `crayon serve`: the server model behind an OpenAI-compatible API, until SIGINT or SIGTERM. */
export function registerServeCommand(program: Command): void {
    program
        .command("serve")
        .description("serve a llama GGUF (default: the embedded server model) over an OpenAI-compatible HTTP API")
        .option("--model <file>", "llama GGUF model to serve", DEFAULT_SERVER_MODEL)
        .option("--host <address>", "address to bind; 0.0.0.0 exposes the server to the network", "127.0.0.1")
        .option("--port <number>", "port; 0 picks a free one", "8080")
        .option("--api-key <key>", "require Authorization: Bearer <key> on /v1 requests (default: $CRAYON_API_KEY if set)")
        .option("--threads <number>", "llama.cpp threads", String(defaultLlamaThreads()))
        .option("--context-size <tokens>", "context length per request (default: the model's training context)")
        .option("--max-body <bytes>", "largest request body accepted", String(1 << 20))
        .option("--max-pending <number>", "requests admitted at once before answering 429", "64")
        .option("--quiet", "no request log (by default one line per request on stderr: method, path, status, ms, tokens — never the text)")
        .action(async (options: ServeOptions) => {
            const threads = integerOption(options.threads, "--threads", 1);
            const port = integerOption(options.port, "--port", 0);
            if (port > 65535) throw new CrayonError(`--port must be from 0 to 65535, found "${options.port}"`);
            const requestedContext = options.contextSize === undefined ? undefined : integerOption(options.contextSize, "--context-size", 1);
            const maxBodyBytes = integerOption(options.maxBody, "--max-body", 1);
            const maxPending = integerOption(options.maxPending, "--max-pending", 1);
            await modelFileOption(options.model, "--model");
            await checkListenAddress(options.host, port);
            const runtime = await LlamaRuntime.create({ threads });
            try {
                const model = await runtime.loadModel(options.model);
                const contextSize = requestedContext ?? model.trainContextSize;
                const context = await runtime.createContext(model, { contextSize });
                const server = await startOpenAiServer({
                    served: { id: path.basename(options.model, ".gguf"), model, sequence: context.getSequence() },
                    host: options.host,
                    port,
                    apiKey: options.apiKey ?? process.env.CRAYON_API_KEY,
                    maxBodyBytes,
                    maxPending,
                    ...(options.quiet ? {} : { onResponse: (entry) => process.stderr.write(`${formatRequestLog(entry)}\n`) })
                });
                process.stdout.write(`listening on ${server.url}/v1\n`);
                process.stderr.write(`serving ${path.basename(options.model)} (${runtime.describe()}, context ${contextSize} tokens); stop with Ctrl-C\n`);
                const signal = await new Promise<NodeJS.Signals>((resolve) => {
                    process.once("SIGINT", () => resolve("SIGINT"));
                    process.once("SIGTERM", () => resolve("SIGTERM"));
                });
                process.stderr.write(`${signal}: finishing admitted requests and stopping\n`);
                await server.close();
                await context.dispose();
            } finally {
                await runtime.dispose();
            }
        });
}
