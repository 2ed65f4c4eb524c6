import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { createLoraOptimization } from "../../train/loraOptimization.js";
import { startPoolWorker } from "../../pool/queue/poolWorker.js";
import { parseRedisUrl } from "../../pool/queue/redisConnection.js";
import { chooseTrainingEngine, TRAINING_ENGINES } from "../../train/ggml/engineChoice.js";
import { createGgmlLoraOptimization } from "../../train/ggml/loraOptimization.js";
import { inputFileOption, integerOption, outputFolderOption, positiveNumberOption } from "../optionValues.js";
import { DEFAULT_DEVICE_MODEL } from "../../defaults.js";

interface WorkerCommandOptions {
    queue: string;
    model: string;
    workDir: string;
    concurrency: string;
    stallSeconds: string;
    engine?: string;
}

/** First 12 hex digits of a sha256: enough to tell two models apart in a log line. */
const shortSha = (sha256: string): string => sha256.slice(0, 12);

/** `crayon worker`: trains the adapters of pool builds queued with `build-pool --queue`, until stopped. */
export function registerWorkerCommand(program: Command): void {
    program
        .command("worker")
        .description("train the adapters of pool builds queued on Redis by `build-pool --queue` (run one or more per machine)")
        .requiredOption("--queue <url>", "Redis holding the queue: redis://[:password@]host[:port][/db], rediss://… for TLS")
        .option("--model <gguf>", "base model; jobs of a build for another base model are left to other workers", DEFAULT_DEVICE_MODEL)
        .option("--work-dir <dir>", "checkpoints of the jobs in hand; a folder all workers share lets any of them continue a job whose worker died", path.join(os.tmpdir(), "crayon-worker"))
        .option("--concurrency <n>", "jobs trained at once by this process", "1")
        .option("--engine <name>", `training engine, one of ${TRAINING_ENGINES.join(", ")}, chosen as build-pool chooses it (the same engine on every worker gives the adapters a local build with it would)`)
        .option("--stall-seconds <s>", "how long a job waits with a worker that stopped answering before another takes it over (a training step must take well under half of it)", "30")
        .action(async (options: WorkerCommandOptions) => {
            const redis = parseRedisUrl(options.queue, "--queue");
            const concurrency = integerOption(options.concurrency, "--concurrency", 1);
            const stallSeconds = positiveNumberOption(options.stallSeconds, "--stall-seconds");
            await inputFileOption(options.model, "--model");
            await outputFolderOption(options.workDir, "--work-dir");
            const log = (line: string) => process.stderr.write(`${line}\n`);
            const engine = await chooseTrainingEngine(options.engine);
            log(engine.line);
            const own = await startPoolWorker({
                modelPath: options.model,
                redis,
                createOptimization: engine.engine === "ggml" ? createGgmlLoraOptimization : createLoraOptimization,
                workDir: options.workDir,
                concurrency,
                stallSeconds,
                events: {
                    onStart: (id, startStep, totalSteps) => log(`${id}: training, ${startStep > 0 ? `continuing at step ${startStep}` : "from step 0"} of ${totalSteps}`),
                    onDone: (adapter, bytes) => log(`${adapter.id}: done in ${adapter.training!.seconds!.toFixed(1)} s, adapter of ${bytes} bytes sent`), // a trained adapter always has its record
                    onRefused: (id, wanted, own) => log(`${id}: refused, the build is for base model ${wanted.fileName} (sha256 ${shortSha(wanted.sha256)}…) and this worker has ${own.fileName} (${shortSha(own.sha256)}…); left for another worker`),
                    onFailed: (id, message) => log(`${id}: failed: ${message}`),
                    onConnectionError: (message) => log(`${message}; reconnecting`)
                }
            });
            log(`worker for ${own.fileName} (sha256 ${shortSha(own.sha256)}…) on ${redis.shown}, ${concurrency} job${concurrency === 1 ? "" : "s"} at a time; stop with Ctrl-C`);
            const signal = await new Promise<NodeJS.Signals>((resolve) => {
                process.once("SIGINT", () => resolve("SIGINT"));
                process.once("SIGTERM", () => resolve("SIGTERM"));
            });
            // a job in hand is not lost: its lock lapses and another worker continues it from its last checkpoint
            log(`${signal}: stopping; a job in hand goes to another worker after ${stallSeconds} s`);
            process.exit(signal === "SIGINT" ? 130 : 143);
        });
}
