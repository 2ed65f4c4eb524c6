import cliProgress from "cli-progress";
import type { Command } from "commander";
import { CrayonError } from "../../errors.js";
import { loadBenchmark } from "../../data/benchmark/loadBenchmark.js";
import { LORA_TARGETS, type LoraTarget } from "../../gguf/constants.js";
import { buildPool } from "../../pool/buildPool.js";
import { formatClusterTable } from "../../pool/clusterReport.js";
import { importAdapters } from "../../pool/importAdapters.js";
import { importPeftPool } from "../../interop/importPeftPool.js";
import { createLoraOptimization } from "../../train/loraOptimization.js";
import { chooseTrainingEngine, TRAINING_ENGINES } from "../../train/ggml/engineChoice.js";
import { createGgmlLoraOptimization } from "../../train/ggml/loraOptimization.js";
import type { PoolManifest } from "../../pool/manifest.js";
import { queueTraining, type QueueTrainingEvents } from "../../pool/queue/queueTraining.js";
import { checkRedis, parseRedisUrl } from "../../pool/queue/redisConnection.js";
import { inputFileOption, integerOption, outputFolderOption, positiveNumberOption } from "../optionValues.js";
import { QueueProgress } from "../queueProgress.js";
import { TRAINING_BAR_OPTIONS } from "../trainingProgress.js";
import { textTable } from "../../format/textTable.js";
import { DEFAULT_DEVICE_MODEL, DEFAULT_POOL } from "../../defaults.js";

interface BuildPoolCommandOptions {
    model: string;
    benchmark: string;
    dataDir?: string;
    clusters: string;
    pooling: "mean" | "last";
    rank: string;
    alpha: string;
    targets: string;
    steps?: string;
    epochs?: string;
    lr: string;
    batch: string;
    seqLen: string;
    seed: string;
    heldOut: string;
    validation: string;
    rotateChoices: boolean;
    out: string;
    fromAdapters?: string[];
    adapterData?: string[];
    fromPeft?: string[];
    base?: string;
    queue?: string;
    attempts: string;
    engine?: string;
}

/** What an import from existing adapters reads; every other option is about clustering and training. */
const IMPORT_OPTIONS = ["model", "out", "pooling", "fromAdapters", "adapterData", "fromPeft", "base"];

function parseTargets(value: string): LoraTarget[] {
    const targets = value.split(",").map((t) => t.trim()).filter(Boolean);
    const unknown = targets.filter((t) => !(LORA_TARGETS as readonly string[]).includes(t));
    if (targets.length === 0 || unknown.length > 0) throw new CrayonError(`--targets: unknown ${unknown.join(", ") || "(empty)"}; choose from ${LORA_TARGETS.join(",")}`);
    return targets as LoraTarget[];
}

/** "auto", "auto:2-16", or a number of clusters. */
function parseClusters(value: string): { clusters: number | "auto"; autoRange?: [number, number] } {
    const auto = /^auto(?::(\d+)-(\d+))?$/.exec(value);
    if (auto === null) return { clusters: integerOption(value, "--clusters", 1) };
    if (auto[1] === undefined) return { clusters: "auto" };
    const range: [number, number] = [Number(auto[1]), Number(auto[2])];
    if (range[0] < 2 || range[0] > range[1]) throw new CrayonError(`--clusters ${value}: the range must go from at least 2 up to at least its start, e.g. auto:2-16`);
    return { clusters: "auto", autoRange: range };
}

/** K clusters of `items` items: each cluster's adapter needs items to train on and to hold out, so K is at most half the items. */
function checkClusterCount(k: number, items: number, benchmark: string): void {
    const most = Math.floor(items / 2);
    if (k > most) throw new CrayonError(`--clusters ${k} is too many for the ${items} pool items of ${benchmark}: at most ${most} (two items per cluster); choose fewer clusters or auto`);
}

/** Optimisation steps per adapter when neither --steps nor --epochs is given (not a commander default: --epochs replaces it). */
const DEFAULT_STEPS = "900";

/** `crayon build-pool`: embed, cluster and train one LoRA per cluster into a pool folder. */
export function registerBuildPoolCommand(program: Command): void {
    program
        .command("build-pool")
        .description("cluster a multi-task QA set with the base model's embeddings and train one LoRA adapter per cluster")
        .option("--model <gguf>", "base model", DEFAULT_DEVICE_MODEL)
        .option("--benchmark <name|file>", "benchmark whose pool items are clustered (a shipped name or a definition .json)", "world")
        .option("--data-dir <dir>", "folder with the public datasets (for benchmarks that read them)")
        .option("--clusters <K|auto>", "number of clusters, or auto (by silhouette over 2–12: the smallest K within one standard error of the best; auto:MIN-MAX for another range)", "auto")
        .option("--pooling <mean|last>", "how token states become an item embedding", "mean")
        .option("--rank <r>", "LoRA rank", "8")
        .option("--alpha <a>", "LoRA alpha (the update is scaled by alpha/rank)", "16")
        .option("--targets <list>", `adapted weights, from ${LORA_TARGETS.join(",")}`, LORA_TARGETS.join(","))
        .option("--steps <N>", `optimisation steps per adapter (default ${DEFAULT_STEPS})`)
        .option("--epochs <E>", "passes over each cluster's training items (instead of --steps)")
        .option("--lr <rate>", "peak learning rate", "0.001")
        .option("--batch <B>", "sequences per step", "16")
        .option("--seq-len <T>", "tokens per sequence at most", "256")
        .option("--seed <n>", "seed of clustering, splits, initialisation and batch order", "1")
        .option("--held-out <share>", "share of each cluster's items kept for the base-vs-adapter loss", "0.1")
        .option("--validation <share>", "share of the rest kept out of training to choose the step whose adapter is written (0: the last step)", "0.1")
        .option("--no-rotate-choices", "train each item in its one option order only, not in every rotation of its options")
        .option("--out <dir>", "pool folder", DEFAULT_POOL)
        .option("--queue <url>", "train the adapters on `crayon worker`s through the Redis at url (redis://[:password@]host[:port][/db], rediss://… for TLS) instead of here")
        .option("--attempts <n>", "with --queue: tries of each adapter's job before the build gives it up", "3")
        .option("--engine <name>", `training engine here, one of ${TRAINING_ENGINES.join(", ")} (default: CRAYON_ENGINE, else ggml on a GPU build, tfjs-node where installed, ggml where it passes its self-check, else wasm)`)
        .option("--from-adapters <files...>", "assemble the pool from existing GGUF LoRA adapters for --model instead of training: one cluster each")
        .option("--adapter-data <files...>", "with --from-adapters: one examples file per adapter, in the same order (.jsonl or .csv: the data it was trained on, or a few examples of its task); its centroid is their mean embedding")
        .option("--from-peft <dirs...>", "assemble the pool from PEFT LoRA folders (adapter_config.json + adapter_model.safetensors) trained for the Hugging Face form of --base: one cluster each, with --adapter-data as for --from-adapters")
        .option("--base <gguf>", "with --from-peft: the llama base model as GGUF, converted from the Hugging Face model the adapters were trained for (default --model)")
        .action(async (options: BuildPoolCommandOptions, command: Command) => {
            if (options.fromAdapters !== undefined || options.fromPeft !== undefined) return importCommand(options, command);
            if (options.adapterData !== undefined) throw new CrayonError("--adapter-data goes with --from-adapters or --from-peft (the adapters whose examples they are)");
            if (options.base !== undefined) throw new CrayonError("--base goes with --from-peft; a pool is trained for --model");
            if (options.steps !== undefined && options.epochs !== undefined) throw new CrayonError("give --steps or --epochs, not both");
            const { clusters, autoRange } = parseClusters(options.clusters);
            if (options.pooling !== "mean" && options.pooling !== "last") throw new CrayonError(`--pooling must be mean or last, got "${String(options.pooling)}"`);
            const heldOutShare = Number(options.heldOut);
            if (!(heldOutShare >= 0 && heldOutShare < 1)) throw new CrayonError(`--held-out must be in [0, 1), got "${options.heldOut}"`);
            const validationShare = Number(options.validation);
            if (!(validationShare >= 0 && validationShare < 1)) throw new CrayonError(`--validation must be in [0, 1), got "${options.validation}"`);
            const training = {
                rank: integerOption(options.rank, "--rank", 1),
                alpha: positiveNumberOption(options.alpha, "--alpha"),
                targets: parseTargets(options.targets),
                ...(options.epochs !== undefined ? { epochs: positiveNumberOption(options.epochs, "--epochs") } : { steps: integerOption(options.steps ?? DEFAULT_STEPS, "--steps", 1) }),
                learningRate: positiveNumberOption(options.lr, "--lr"),
                batchSize: integerOption(options.batch, "--batch", 1),
                seqLen: integerOption(options.seqLen, "--seq-len", 1),
                seed: integerOption(options.seed, "--seed", 1)
            };
            await inputFileOption(options.model, "--model");
            await outputFolderOption(options.out, "--out");
            const benchmark = await loadBenchmark(options.benchmark, { dataDir: options.dataDir });
            checkClusterCount(clusters === "auto" ? (autoRange?.[0] ?? 2) : clusters, benchmark.pool.length, options.benchmark);
            const engine = options.queue === undefined ? await chooseTrainingEngine(options.engine) : undefined;
            if (engine !== undefined) process.stderr.write(`${engine.line}\n`);
            const redis = options.queue === undefined ? undefined : parseRedisUrl(options.queue, "--queue");
            if (redis !== undefined) await checkRedis(redis); // now, not after the embedding: a wrong address or password is told at once
            const progress = new PoolProgress();
            const remote = redis === undefined ? undefined : queueTraining({ redis, attempts: integerOption(options.attempts, "--attempts", 1), events: progress.queueEvents() });
            // a build is restartable at any point (see buildPool): say how, rather than end silently with 130
            const interrupt = (signal: NodeJS.Signals): void => {
                progress.stop();
                process.stderr.write(`${signal}: build-pool stopped; the finished adapters are kept in ${options.out} — run the same command again to continue\n`);
                process.exit(130);
            };
            process.once("SIGINT", interrupt).once("SIGTERM", interrupt);
            try {
                const manifest = await buildPool({
                    modelPath: options.model,
                    items: benchmark.pool,
                    dataLabel: benchmark.name,
                    outDir: options.out,
                    clusters,
                    autoRange,
                    pooling: options.pooling,
                    ...training,
                    heldOutShare,
                    validationShare,
                    rotateChoices: options.rotateChoices,
                    createOptimization: engine?.engine === "ggml" ? createGgmlLoraOptimization : createLoraOptimization,
                    remote,
                    events: progress.events()
                });
                progress.stop();
                process.stdout.write(`${heldOutTable(manifest)}${summary(manifest, options.out)}`);
            } finally {
                progress.stop();
                process.removeListener("SIGINT", interrupt).removeListener("SIGTERM", interrupt);
            }
        });
}

/** `--from-adapters`: the adapters are copied, not trained, so the training options would be silently ignored; refuse them. */
async function importCommand(options: BuildPoolCommandOptions, command: Command): Promise<void> {
    const ignored = command.options.filter((option) => !IMPORT_OPTIONS.includes(option.attributeName()) && command.getOptionValueSource(option.attributeName()) === "cli");
    if (ignored.length > 0) throw new CrayonError(`--from-adapters imports the adapters as they are, without training; drop ${ignored.map((option) => option.long).join(", ")}`);
    if (options.pooling !== "mean" && options.pooling !== "last") throw new CrayonError(`--pooling must be mean or last, got "${String(options.pooling)}"`);
    await inputFileOption(options.model, "--model");
    for (const file of options.fromAdapters ?? []) await inputFileOption(file, "--from-adapters");
    for (const file of options.adapterData ?? []) await inputFileOption(file, "--adapter-data");
    await outputFolderOption(options.out, "--out");
    if (options.fromPeft !== undefined && options.fromAdapters !== undefined) throw new CrayonError("give --from-peft or --from-adapters, not both: each --adapter-data file goes with one adapter, in order");
    if (options.base !== undefined && options.fromPeft === undefined) throw new CrayonError("--base goes with --from-peft; --from-adapters imports GGUF adapters for --model");
    if (options.base !== undefined && command.getOptionValueSource("model") === "cli") throw new CrayonError("give the base model once: --base or --model");
    const modelPath = options.base ?? options.model;
    const manifest = await (options.fromPeft !== undefined ? importPeftPool : importAdapters)({
        modelPath,
        peftDirs: options.fromPeft ?? [],
        adapterPaths: options.fromAdapters ?? [],
        dataPaths: options.adapterData ?? [],
        outDir: options.out,
        pooling: options.pooling,
        onEmbedding: (done, total) => process.stderr.write(`embedded ${done}/${total} examples\n`)
    });
    const adapters = manifest.adapters.map((a) => `${a.id}: ${a.imported!.adapter} (rank ${a.rank}, alpha ${a.alpha}, ${a.targets.join(",")}), centroid of ${a.clusterSize} examples from ${a.imported!.data}\n`);
    const { clusters = [], purity = 0 } = manifest.clustering;
    process.stdout.write(`${adapters.join("")}${formatClusterTable({ clusters, purity })}${summary(manifest, options.out)}`);
}

/** One bar per adapter being trained and one for the whole pool (loss, tokens/s, ETA), on stderr. */
class PoolProgress {
    private readonly bars = new cliProgress.MultiBar(
        { ...TRAINING_BAR_OPTIONS, format: "{label} {bar} {value}/{total} | loss {loss} | {tokensPerSecond} tok/s | ETA {eta_formatted}" },
        cliProgress.Presets.shades_classic
    );
    private overall: cliProgress.SingleBar | undefined;
    private current: cliProgress.SingleBar | undefined;
    private stopped = false;

    events(): Parameters<typeof buildPool>[0]["events"] {
        return {
            onEmbedding: (done, total) => process.stderr.write(`embedded ${done}/${total} items\n`),
            onClusters: (report, manifest) => {
                const k = manifest.clustering.k;
                const byK = manifest.clustering.silhouetteByK?.map((c) => `K=${c.k} ${c.silhouette.toFixed(3)}${c.standardError === undefined ? "" : `±${c.standardError.toFixed(3)}`}`).join(", ");
                this.bars.log(`${k} clusters (silhouette ${manifest.clustering.silhouette?.toFixed(3) ?? "-"}${byK ? `; ${byK}` : ""})\n${formatClusterTable(report)}`);
            },
            onAdapterKept: (adapter) => this.bars.log(`${adapter.id}: kept (sha256 verified)\n`),
            onAdapterStart: ({ id, index, count, totalSteps, startStep }) => {
                this.overall ??= this.bars.create(count, index, { label: "pool ", loss: "-", tokensPerSecond: "-" });
                this.overall.update(index);
                this.current = this.bars.create(totalSteps, startStep, { label: id.padEnd(5), loss: "-", tokensPerSecond: "-" });
                if (startStep > 0) this.bars.log(`${id}: resuming at step ${startStep}\n`);
            },
            onTick: (_id, tick) => this.current?.update(tick.step, { loss: tick.loss.toFixed(4), tokensPerSecond: tick.tokensPerSecond.toFixed(0) }),
            onAdapterDone: (adapter) => {
                if (this.current !== undefined) this.bars.remove(this.current);
                const { steps, keptStep, tokensPerSecond, heldOutLossBase: before, heldOutLossAdapter: after, heldOutAccuracyBase: accuracyBefore, heldOutAccuracyAdapter: accuracyAfter } = adapter.training!; // trained by this build
                this.overall?.increment(1, { tokensPerSecond: (tokensPerSecond ?? 0).toFixed(0) });
                const heldOut = before === undefined ? "" : `, held-out loss ${before.toFixed(3)} → ${after!.toFixed(3)}, accuracy ${(100 * accuracyBefore!).toFixed(1)} → ${(100 * accuracyAfter!).toFixed(1)}%`;
                this.bars.log(`${adapter.id}: ${adapter.clusterSize} items, ${steps} steps${keptStep === undefined || keptStep === steps ? "" : ` (kept step ${keptStep})`}${heldOut}\n`);
            }
        };
    }

    /** a queued build's jobs, drawn among these bars */
    queueEvents(): QueueTrainingEvents {
        return new QueueProgress(this.bars).events();
    }

    stop(): void {
        if (this.stopped) return;
        this.stopped = true;
        this.bars.stop();
    }
}

/**
 * Per adapter: its held-out items' loss and option accuracy, base → adapter, then the accuracy on each
 * task's share of them (a cluster's adapter should help the tasks that make up the cluster, not only on average).
 */
function heldOutTable(manifest: PoolManifest): string {
    const percent = (share: number): string => (100 * share).toFixed(1);
    const rows = manifest.adapters.flatMap((adapter) => {
        const t = adapter.training;
        if (t?.heldOutItems === undefined || t.heldOutItems === 0) return [];
        const all = [adapter.id, "all", String(t.heldOutItems), `${t.heldOutLossBase!.toFixed(3)} → ${t.heldOutLossAdapter!.toFixed(3)}`,
            t.heldOutAccuracyBase === undefined ? "-" : `${percent(t.heldOutAccuracyBase)} → ${percent(t.heldOutAccuracyAdapter!)}`];
        const byTask = (t.heldOutByTask ?? []).map((task) => ["", task.task, String(task.items), "", `${percent(task.accuracyBase)} → ${percent(task.accuracyAdapter)}`]);
        return [all, ...byTask];
    });
    if (rows.length === 0) return "";
    return `${textTable(["adapter", "held-out items", "count", "loss base → adapter", "accuracy % base → adapter"], rows, (i) => i >= 2).join("\n")}\n`;
}

function summary(manifest: PoolManifest, out: string): string {
    return `pool ${out}: ${manifest.adapters.length} adapters for ${manifest.baseModel.fileName}, purity ${manifest.clustering.purity?.toFixed(3) ?? "-"}\n`;
}
