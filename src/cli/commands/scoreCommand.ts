import path from "node:path";
import type { Command } from "commander";
import { loadBenchmark } from "../../data/benchmark/loadBenchmark.js";
import type { Benchmark } from "../../data/benchmark/types.js";
import type { QaItem } from "../../data/item.js";
import { SCORING_MODES, type ScoringMode } from "../../data/prompt.js";
import { loadUserExamples } from "../../data/loaders/userExamples.js";
import { BLEND_METHODS } from "../../blend/types.js";
import { CrayonError } from "../../errors.js";
import { ownTaskLines, scoreOwnTask } from "./ownTaskScore.js";
import { ItemEncoder } from "../../runtime/encode.js";
import { defaultLlamaThreads, LlamaRuntime } from "../../runtime/llama.js";
import { ItemScorer } from "../../runtime/scoring.js";
import { pooledAccuracy, taskAccuracy, type TaskAccuracy } from "../../runtime/taskAccuracy.js";
import { pretrainCorpus } from "../../train/pretrainer.js";
import { adapterFileOption, choiceOption, examplesFileOption, inputFileOption, integerOption, modelFileOption } from "../optionValues.js";
import { textTable } from "../../format/textTable.js";
import { DEFAULT_DEVICE_MODEL, DEFAULT_POOL } from "../../defaults.js";

interface ScoreCommandOptions {
    model: string;
    adapter?: string;
    benchmark: string;
    dataDir?: string;
    items: string;
    threads?: string;
    json?: boolean;
    scoring?: string;
    test?: string;
    examples?: string;
    pool: string;
    method: string;
}

/**
 * Which items are scored: the user tasks' test items (and the out-of-scope queries), the pool's items, or
 * a world's pre-training items outside the pool — what every shipped model learned. Scoring the last two
 * side by side shows how much of a model's accuracy is memory of its corpus rather than skill.
 */
const ITEM_SETS = ["test", "pool", "corpus"] as const;
type ItemSet = (typeof ITEM_SETS)[number];

function itemsByTask(benchmark: Benchmark, set: ItemSet): { task: string; items: QaItem[] }[] {
    if (set === "test") return benchmark.userTasks.map((t) => ({ task: t.task, items: t.test }));
    return groupByTask(set === "pool" ? benchmark.pool : pretrainCorpus(benchmark, { benchmark: benchmark.name, deviceCorpus: true }));
}

/** Items grouped by task, in the order each task first appears. */
function groupByTask(items: readonly QaItem[]): { task: string; items: QaItem[] }[] {
    const groups = new Map<string, QaItem[]>();
    for (const item of items) {
        const group = groups.get(item.task);
        if (group === undefined) groups.set(item.task, [item]);
        else group.push(item);
    }
    return [...groups].map(([task, taskItems]) => ({ task, items: taskItems }));
}

const percent = (share: number): string => `${(100 * share).toFixed(1)}%`;

/** Cloze rows show acc_norm (the accuracy) and acc, lm-evaluation-harness's two figures. */
function formatTable(rows: TaskAccuracy[]): string {
    const cloze = rows.some((r) => r.rawAccuracy !== null);
    const cells = rows.map((r) => [r.task, String(r.items), percent(r.accuracy), ...(cloze ? [r.rawAccuracy === null ? "-" : percent(r.rawAccuracy)] : []), percent(r.chance), percent(r.meanConfidence)]);
    const header = ["task", "items", cloze ? "accuracy (acc_norm)" : "accuracy", ...(cloze ? ["acc"] : []), "chance", "confidence"];
    return textTable(header, cells, (i) => i > 0).join("\n");
}

/** `crayon score --test`: the user's own items, base vs adapted. */
async function scoreTestFile(options: ScoreCommandOptions, file: string, scoring: ScoringMode | undefined, threads: number): Promise<void> {
    if (options.adapter !== undefined && options.examples !== undefined) throw new CrayonError("give --adapter or --examples, not both");
    const method = choiceOption(options.method, BLEND_METHODS, "--method");
    const test = await loadUserExamples(await inputFileOption(file, "--test"));
    if (test.length === 0) throw new CrayonError(`${file}: no test items; write one question with its choices and answer per line`);
    const examples = options.examples === undefined ? undefined : await examplesFileOption(options.examples, "--examples");
    const runtime = await LlamaRuntime.create({ threads });
    try {
        const report = await scoreOwnTask({
            runtime,
            modelPath: options.model,
            name: path.basename(file, path.extname(file)),
            test,
            scoring,
            ...(options.adapter === undefined ? {} : { adapter: options.adapter }),
            ...(examples === undefined ? {} : { blend: { examples, poolDir: options.pool, method } })
        });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${ownTaskLines(report).join("\n")}\n`);
    } finally {
        await runtime.dispose();
    }
}

/** `crayon score`: a model's option accuracy on a benchmark's user-task tests and out-of-scope queries (per task and pooled). */
export function registerScoreCommand(program: Command): void {
    program
        .command("score")
        .description("score a model (optionally with a LoRA adapter) on a benchmark's user-task test items and out-of-scope queries, or on its pool or pre-training items")
        .option("--model <file>", "llama GGUF", DEFAULT_DEVICE_MODEL)
        .option("--adapter <file>", "LoRA adapter applied at scale 1")
        .option("--benchmark <name|file>", "shipped benchmark or a definition .json", "world")
        .option("--data-dir <dir>", "folder of the public datasets (crayon-qa)")
        .option("--items <set>", `test (user-task tests and out-of-scope queries), pool (the pool's items) or corpus (a world's pre-training items outside the pool)`, "test")
        .option("--test <file>", "your own test items (.jsonl or .csv, as examples files) instead of a benchmark's: the base model's accuracy, and with --adapter or --examples the adapted one's and the difference")
        .option("--examples <file>", "with --test: blend an adapter from these examples (--pool, --method) and compare it with the base")
        .option("--pool <dir>", "with --examples: the pool to blend from", DEFAULT_POOL)
        .option("--method <name>", `with --examples: blend weights, one of ${BLEND_METHODS.join(", ")}`, "crayon")
        .option("--scoring <letter|cloze>", "score every item this way (default: as the benchmark names for each task)")
        .option("--threads <n>", "llama.cpp threads (default: the idle cores, at most 2)")
        .option("--json", "print the rows as JSON")
        .action(async (options: ScoreCommandOptions) => {
            const set = choiceOption(options.items, ITEM_SETS, "--items");
            const threads = options.threads === undefined ? defaultLlamaThreads() : integerOption(options.threads, "--threads", 1);
            await modelFileOption(options.model, "--model");
            if (options.adapter !== undefined) await adapterFileOption(options.adapter, "--adapter", options.model);
            const scoring = options.scoring === undefined ? undefined : choiceOption(options.scoring, SCORING_MODES, "--scoring");
            if (options.test !== undefined) {
                await scoreTestFile(options, options.test, scoring, threads);
                return;
            }
            if (options.examples !== undefined) throw new CrayonError("--examples needs --test: the examples are blended to score your own test items");
            const benchmark = await loadBenchmark(options.benchmark, { dataDir: options.dataDir, scoring });
            const groups = itemsByTask(benchmark, set);
            const runtime = await LlamaRuntime.create({ threads });
            try {
                const model = await runtime.loadModel(options.model);
                const adapters = options.adapter === undefined ? [] : [{ path: options.adapter, scale: 1 }];
                const context = await runtime.createContext(model, { adapters });
                const scorer = new ItemScorer(context.getSequence(), new ItemEncoder(model, options.model));
                const tasks: TaskAccuracy[] = [];
                for (const group of groups) tasks.push(await taskAccuracy(group.task, group.items, scorer));
                const mean = (key: "accuracy" | "chance" | "meanConfidence"): number => tasks.reduce((s, t) => s + t[key], 0) / tasks.length;
                const clozeTasks = tasks.filter((t) => t.rawAccuracy !== null);
                const meanRow: TaskAccuracy = {
                    task: `${set === "test" ? "user" : set} tasks (mean)`,
                    items: tasks.reduce((n, t) => n + t.items, 0),
                    accuracy: mean("accuracy"),
                    // a mean of acc over only some of the tasks would not be comparable with the accuracy beside it
                    rawAccuracy: clozeTasks.length < tasks.length ? null : clozeTasks.reduce((s, t) => s + t.rawAccuracy!, 0) / clozeTasks.length,
                    chance: mean("chance"),
                    meanConfidence: mean("meanConfidence")
                };
                const rows = [...tasks, meanRow];
                if (set === "test" && benchmark.outOfScope.length > 0) {
                    // per domain too: out-of-scope queries mix skills, and the pooled row hides which ones a model has
                    const domains: TaskAccuracy[] = [];
                    for (const group of groupByTask(benchmark.outOfScope)) domains.push(await taskAccuracy(`out-of-scope: ${group.task}`, group.items, scorer));
                    rows.push(...domains, pooledAccuracy("out-of-scope", domains));
                }
                process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${path.basename(options.model)} on ${options.benchmark}\n${formatTable(rows)}\n`);
            } finally {
                await runtime.dispose();
            }
        });
}
