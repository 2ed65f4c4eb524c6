import { existsSync } from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { CrayonError } from "../../errors.js";
import { partialResultsPath } from "../../eval/partialResults.js";
import { runEval } from "../../eval/runEval.js";
import { writeEvalReport } from "../../eval/writeEvalReport.js";
import { DEFAULT_EVAL_METHODS, EVAL_METHODS, type EvalMethod, type EvalOptions, type ServerSpec } from "../../eval/types.js";
import { projectRoot } from "../../version.js";
import { notAPool } from "../../pool/loadPool.js";
import { MANIFEST_FILE } from "../../pool/poolFiles.js";
import { SCORING_MODES } from "../../data/prompt.js";
import { choiceOption, inputFileOption, integerOption, outputFolderOption, urlOption } from "../optionValues.js";
import { formatEta } from "../trainingProgress.js";
import { DEFAULT_DEVICE_MODEL, DEFAULT_POOL, DEFAULT_SERVER_MODEL } from "../../defaults.js";

interface EvalCommandOptions {
    benchmark: string;
    dataDir?: string;
    model: string;
    pool: string;
    serverModel?: string;
    serverUrl?: string;
    apiKey?: string;
    methods: string;
    hybridMethod?: string;
    kShot: string;
    seed: string;
    lorahubBudget: string;
    threads: string;
    topLogprobs?: string;
    out?: string;
    json?: boolean;
    scoring?: string;
    resume?: boolean;
}

/** `crayon eval`: the customization benchmark with hybrid routing — table, results.json and plots. */
export function registerEvalCommand(program: Command): void {
    program
        .command("eval")
        .description("run the customization benchmark: blend methods per user task on the device, the server, and hybrid routing curves")
        .option("--benchmark <name|file>", "shipped benchmark (world, crayon-qa) or a definition .json", "world")
        .option("--data-dir <dir>", "folder of the public datasets (crayon-qa)")
        .option("--scoring <letter|cloze>", "score every item this way (default: as the benchmark names for each task)")
        .option("--model <file>", "the device base model the pool was built for", DEFAULT_DEVICE_MODEL)
        .option("--pool <dir>", "pool folder (manifest.json + adapters/)", DEFAULT_POOL)
        .option("--server-model <file>", `served by \`crayon serve\` started on loopback for the run (default ${path.relative(projectRoot, DEFAULT_SERVER_MODEL)})`)
        .option("--server-url <url>", "a running OpenAI-compatible server's base URL (ending in /v1) instead")
        .option("--api-key <key>", "bearer key for --server-url (default: $CRAYON_API_KEY if set)")
        .option("--methods <list>", `comma-separated, from ${EVAL_METHODS.join(", ")}`, DEFAULT_EVAL_METHODS.join(","))
        .option("--hybrid-method <name>", "the device method the router customizes with (default crayon, or the first device method listed)")
        .option("--k-shot <k>", "user examples drawn per task", "16")
        .option("--seed <n>", "seeds the example draw, the out-of-scope draw and lorahub", "0")
        .option("--lorahub-budget <n>", "lorahub: few-shot loss evaluations per blend", "30")
        .option("--threads <n>", "llama.cpp threads of the device and of the spawned server, which work at the same time", "1")
        .option("--top-logprobs <n>", "alternatives asked of the server at the answer (default 1000 for the spawned server, 20 for --server-url)")
        .option("--out <dir>", "run folder for results.json, plots and blended adapters (default results/eval-<time>)")
        .option("--json", "print results.json to stdout instead of the table")
        .option("--resume", "continue the run stopped in --out (Ctrl-C keeps its finished tasks), with the same options")
        .action(async (options: EvalCommandOptions) => {
            const evalOptions = parseOptions(options);
            await checkPaths(evalOptions);
            const bar = new cliProgress.SingleBar(
                { format: "eval {bar} {percentage}% | {stage} | ETA {eta_formatted}", noTTYOutput: true, notTTYSchedule: 10_000, etaBuffer: 200, formatTime: formatEta, hideCursor: true, stream: process.stderr },
                cliProgress.Presets.shades_classic
            );
            let total = 0;
            evalOptions.onProgress = (progress) => {
                if (total === 0) bar.start(progress.total, progress.done, { stage: progress.stage });
                total = progress.total;
                bar.update(progress.done, { stage: progress.stage });
            };
            // aborting writes the partial results at once; the spawned server is killed by its exit hook
            const stop = new AbortController();
            evalOptions.signal = stop.signal;
            const interrupt = (signal: NodeJS.Signals) => {
                stop.abort();
                bar.stop();
                const partial = partialResultsPath(evalOptions.out);
                process.stderr.write(existsSync(partial)
                    ? `${signal}: eval stopped, server shut down; finished tasks kept in ${path.relative(process.cwd(), partial)}: run the same command with --resume to continue\n`
                    : `${signal}: eval stopped before any result, server shut down; nothing to resume\n`);
                process.exit(130);
            };
            process.once("SIGINT", interrupt);
            process.once("SIGTERM", interrupt);
            try {
                const results = await runEval(evalOptions);
                bar.update(total, { stage: "done" });
                bar.stop();
                const report = await writeEvalReport(results, evalOptions.out);
                if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
                else process.stdout.write(`${report.summary}\nwrote ${report.files.map((f) => path.relative(process.cwd(), f)).join(", ")}\n`);
            } finally {
                bar.stop();
                process.removeListener("SIGINT", interrupt);
                process.removeListener("SIGTERM", interrupt);
            }
        });
}

/** The files and folders of a run, checked before the benchmark is loaded and the server started. */
async function checkPaths(options: EvalOptions): Promise<void> {
    await inputFileOption(options.modelPath, "--model");
    if (!existsSync(path.join(options.poolDir, MANIFEST_FILE))) throw notAPool(options.poolDir);
    if ("modelPath" in options.server) await inputFileOption(options.server.modelPath, "--server-model");
    await outputFolderOption(options.out, "--out");
}

function parseOptions(options: EvalCommandOptions): EvalOptions {
    const methods = options.methods.split(",").map((m) => m.trim()).filter((m) => m !== "");
    if (methods.length === 0) throw new CrayonError("--methods lists no method");
    const parsed = [...new Set(methods.map((m) => choiceOption(m, EVAL_METHODS, "--methods")))];
    const deviceMethods = parsed.filter((m): m is Exclude<EvalMethod, "oracle"> => m !== "oracle");
    if (deviceMethods.length === 0) throw new CrayonError("--methods needs a device method besides oracle (base, a blend method)");
    const hybridMethod = options.hybridMethod === undefined
        ? (deviceMethods.includes("crayon") ? "crayon" : deviceMethods[0]!)
        : choiceOption(options.hybridMethod, deviceMethods, "--hybrid-method");
    if (options.serverUrl !== undefined && options.serverModel !== undefined) throw new CrayonError("give --server-model or --server-url, not both");
    const server: ServerSpec = options.serverUrl !== undefined
        ? { url: urlOption(options.serverUrl, "--server-url"), ...((options.apiKey ?? process.env.CRAYON_API_KEY) ? { apiKey: options.apiKey ?? process.env.CRAYON_API_KEY } : {}) }
        : { modelPath: options.serverModel ?? DEFAULT_SERVER_MODEL };
    if (options.resume && options.out === undefined) throw new CrayonError("--resume needs --out, the folder of the stopped run");
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    return {
        benchmark: options.benchmark,
        ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        ...(options.scoring === undefined ? {} : { scoring: choiceOption(options.scoring, SCORING_MODES, "--scoring") }),
        modelPath: options.model,
        poolDir: options.pool,
        server,
        methods: parsed,
        hybridMethod,
        kShot: integerOption(options.kShot, "--k-shot", 1),
        seed: integerOption(options.seed, "--seed", 0),
        lorahubBudget: integerOption(options.lorahubBudget, "--lorahub-budget", 1),
        threads: integerOption(options.threads, "--threads", 1),
        ...(options.topLogprobs === undefined ? {} : { topLogprobs: integerOption(options.topLogprobs, "--top-logprobs", 1) }),
        out: options.out ?? path.join(projectRoot, "results", `eval-${stamp}`),
        ...(options.resume ? { resume: true } : {})
    };
}
