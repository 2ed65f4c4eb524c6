import { stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { baseModelHooks, type BaseModelHooks } from "../../blend/baseModelHooks.js";
import { blendAdapters } from "../../blend/blendAdapters.js";
import { blendCoverage, coverageLine, coverageWarning, type BlendCoverage } from "../../blend/coverage.js";
import { BLEND_METHODS, COMBINE_METHODS, type BlendMethod, type BlendOptions, type BlendResult, type CombineMethod } from "../../blend/types.js";
import { DEFAULT_TEMPERATURE } from "../../blend/weights/crayonWeights.js";
import { STRENGTH_GRID, type BlendStrength } from "../../blend/weights/blendStrength.js";
import { scoredAs } from "../../data/item.js";
import { CrayonError } from "../../errors.js";
import { readGguf } from "../../gguf/reader.js";
import { BLEND_FORMATS, blendAsPeft } from "../../interop/blendAsPeft.js";
import { loadPool, type LoadedPool } from "../../pool/loadPool.js";
import { LlamaRuntime } from "../../runtime/llama.js";
import { checkK } from "../../blend/weights/softmax.js";
import { choiceOption, examplesFileOption, inputFileOption, integerOption, outputFileOption, outputFolderOption, positiveNumberOption } from "../optionValues.js";
import { textTable } from "../../format/textTable.js";
import { DEFAULT_DEVICE_MODEL, DEFAULT_POOL } from "../../defaults.js";

/** The embedded pool and device model, used when `--pool` / `--model` are not given. */

interface BlendCommandOptions {
    pool: string;
    examples: string;
    method: string;
    temperature?: string;
    topK?: string;
    combine: string;
    rank?: string;
    model: string;
    out: string;
    budget: string;
    seed: string;
    strength: string;
    json?: boolean;
    format: string;
}

/** `crayon blend`: one customized LoRA adapter from the pool and a few examples, in milliseconds. */
export function registerBlendCommand(program: Command): void {
    program
        .command("blend")
        .description("blend the pool into one customized LoRA adapter from a few examples (no training)")
        .requiredOption("--examples <file>", "the user's examples: .jsonl ({question, choices, answer}) or .csv (question,A,B,…,answer)")
        .requiredOption("--out <path>", "a folder (the adapter is named blend-<sha12>.gguf) or a .gguf file")
        .option("--pool <dir>", "pool folder (manifest.json + adapters/)", DEFAULT_POOL)
        .option("--model <file>", "the base model the pool was built for", DEFAULT_DEVICE_MODEL)
        .option("--method <name>", `blend weights: ${BLEND_METHODS.join(", ")}`, "crayon")
        .option("--temperature <τ>", `crayon: softmax temperature over cosine similarities (default ${DEFAULT_TEMPERATURE})`)
        .option("--top-k <k>", "crayon: keep the k most similar adapters (default all); topk: how many to average (default 3)")
        .option("--combine <how>", "concat: exact, rank Σr; svd: re-compressed to --rank", "concat")
        .option("--rank <r>", "svd: rank of each blended weight (default the pool's adapter rank)")
        .option("--budget <n>", "lorahub: most few-shot loss evaluations", "40")
        .option("--seed <n>", "lorahub: search seed", "0")
        .option("--strength <auto|s>", `scale of the method's weights (not lorahub); auto: the one of ${STRENGTH_GRID.join(", ")} with the lowest few-shot loss on the examples`, "1")
        .option("--json", "print the result as JSON")
        .option("--format <gguf|peft>", "gguf: a llama.cpp LoRA file; peft: a PEFT folder (adapter_config.json + adapter_model.safetensors) for the base model in Hugging Face layout, as PEFT and vLLM load it", "gguf")
        .action(async (options: BlendCommandOptions) => {
            const method = choiceOption(options.method, BLEND_METHODS, "--method");
            const combine = choiceOption(options.combine, COMBINE_METHODS, "--combine");
            const format = choiceOption(options.format, BLEND_FORMATS, "--format");
            const blendOptions: BlendOptions = {
                method,
                combine,
                out: options.out,
                ...(options.temperature === undefined ? {} : { temperature: positiveNumberOption(options.temperature, "--temperature") }),
                ...(options.topK === undefined ? {} : { topK: integerOption(options.topK, "--top-k", 1) }),
                ...(options.rank === undefined ? {} : { rank: integerOption(options.rank, "--rank", 1) })
            };
            const lorahub = { budget: integerOption(options.budget, "--budget", 1), seed: integerOption(options.seed, "--seed") };
            const strength = strengthOption(options.strength);
            blendOptions.strength = strength;
            await blendOutOption(options.out);
            const loaded = await examplesFileOption(options.examples, "--examples");
            const pool = await loadPool(options.pool, { baseModelPath: await inputFileOption(options.model, "--model") });
            // a user's examples are scored (lorahub's loss) the way the pool's adapters were trained
            const examples = scoredAs(loaded, pool.manifest.scoring ?? "letter");
            if (blendOptions.topK !== undefined) checkK(blendOptions.topK, pool.manifest.adapters.length);
            blendOptions.base = await readGguf(options.model);
            const runtime = method === "uniform" && strength !== "auto" ? undefined : await LlamaRuntime.create();
            let hooks: BaseModelHooks | undefined;
            try {
                if (runtime !== undefined) {
                    hooks = await baseModelHooks(runtime, await runtime.loadModel(options.model), options.model, pool, examples, method, lorahub, strength);
                    Object.assign(blendOptions, hooks.options);
                }
                const result = await (format === "peft" ? blendAsPeft : blendAdapters)(pool, examples, blendOptions);
                const coverage = result.similarities === undefined ? undefined : blendCoverage(result.adapterIds, result.similarities, result.methodWeights);
                const warning = coverage === undefined ? undefined : coverageWarning(coverage);
                if (warning !== undefined) process.stderr.write(`${warning}\n`);
                process.stdout.write(options.json ? `${JSON.stringify(resultJson(result, method, combine, coverage), null, 2)}\n` : resultTable(result, pool, method, combine, coverage));
            } finally {
                await hooks?.dispose();
                await runtime?.dispose();
            }
        });
}

/** `--strength`: auto, or a number ≥ 0. */
function strengthOption(text: string): BlendStrength {
    if (text === "auto") return text;
    const value = Number(text);
    if (text.trim() === "" || !(Number.isFinite(value) && value >= 0)) throw new CrayonError(`--strength must be auto or a number ≥ 0, found "${text}"`);
    return value;
}

/** `--out`: a .gguf file, or a folder the adapter is named in; another file name (z.txt) would silently become a folder. */
async function blendOutOption(out: string): Promise<void> {
    if (path.extname(out).toLowerCase() === ".gguf") {
        await outputFileOption(out, "--out");
        return;
    }
    const isFolder = (await stat(out).catch(() => undefined))?.isDirectory() ?? false;
    if (!isFolder && /^\.[a-z0-9]{1,5}$/i.test(path.extname(out))) throw new CrayonError(`--out: ${out} is neither a folder nor a .gguf file; name the adapter <name>.gguf or give a folder`);
    await outputFolderOption(out, "--out");
}

function resultTable(result: BlendResult, pool: LoadedPool, method: BlendMethod, combine: CombineMethod, coverage: BlendCoverage | undefined): string {
    const header = ["adapter", "main task", ...(result.similarities ? ["similarity"] : []), "weight"];
    const rows = pool.manifest.adapters.map((adapter, i) => [
        adapter.id,
        mainTask(adapter.tasks),
        ...(result.similarities ? [result.similarities[i]!.toFixed(4)] : []),
        result.weights[i]!.toFixed(4)
    ]);
    const { timings } = result;
    const out = [`pool ${pool.manifest.name}, method ${method}, combine ${combine}, strength ${result.strength.strength}`, "", ...textTable(header, rows, (i) => i >= 2), ""];
    if (coverage !== undefined) out.push(coverageLine(coverage));
    if (result.strength.losses) out.push(`strength: few-shot loss ${result.strength.losses.map(({ strength, loss }) => `${loss.toFixed(4)} at ${strength}`).join(", ")}; chose ${result.strength.strength}`);
    if (result.strength.strength === 0) out.push("strength 0: the base model alone fits the examples best; the adapter written leaves it unchanged");
    if (result.search) out.push(`search: ${result.search.evaluations} loss evaluations, few-shot loss ${result.search.startLoss.toFixed(4)} (uniform) → ${result.search.loss.toFixed(4)}`);
    out.push(`wrote ${result.adapterPath} (rank ${result.rank}, sha256 ${result.sha256.slice(0, 12)}…)`);
    out.push(`time: embedding ${ms(timings.embedMs)}, weights ${ms(timings.weightsMs)}, blend ${ms(timings.blendMs)} (read ${ms(timings.readMs)}, combine ${ms(timings.combineMs)}, write ${ms(timings.writeMs)})`);
    return `${out.join("\n")}\n`;
}

function resultJson(result: BlendResult, method: BlendMethod, combine: CombineMethod, coverage: BlendCoverage | undefined) {
    return {
        adapterPath: result.adapterPath,
        sha256: result.sha256,
        method,
        combine,
        rank: result.rank,
        strength: result.strength,
        adapters: result.adapterIds.map((id, i) => ({ id, weight: result.weights[i], ...(result.similarities ? { similarity: result.similarities[i] } : {}) })),
        timings: result.timings,
        ...(coverage === undefined ? {} : { coverage }),
        ...(result.search ? { search: result.search } : {})
    };
}

function mainTask(tasks: Record<string, number>): string {
    return Object.entries(tasks).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "-";
}

const ms = (value: number) => `${value.toFixed(1)} ms`;
