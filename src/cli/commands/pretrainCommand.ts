import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { CrayonError } from "../../errors.js";
import { ensureRealExit } from "../../train/engine/memoryGuard.js";
import type { PretrainConfig } from "../../train/pretrainConfig.js";
import { chooseTrainingEngine, TRAINING_ENGINES } from "../../train/ggml/engineChoice.js";
import { pretrain } from "../../train/pretrainer.js";
import { exportLatestCheckpoint } from "../../train/pretrainState.js";
import { SHIPPED_MODELS } from "../../train/shippedModels.js";
import { projectRoot } from "../../version.js";
import { integerOption, outputFileOption } from "../optionValues.js";
import { TrainingProgress } from "../trainingProgress.js";

interface PretrainCommandOptions {
    config: string;
    out?: string;
    workDir?: string;
    resume: boolean;
    steps?: string;
    exportCheckpoint: boolean;
    engine?: string;
}

const isShipped = (name: string): name is keyof typeof SHIPPED_MODELS => Object.hasOwn(SHIPPED_MODELS, name);

async function readConfig(name: string): Promise<PretrainConfig> {
    if (isShipped(name)) return SHIPPED_MODELS[name];
    let text: string;
    try {
        text = await readFile(name, "utf8");
    } catch {
        throw new CrayonError(`--config: "${name}" is neither device, server nor a readable JSON file`);
    }
    try {
        return JSON.parse(text) as PretrainConfig;
    } catch (error) {
        throw new CrayonError(`${name}: not valid JSON (${(error as Error).message})`);
    }
}

/** `crayon pretrain`: trains a llama model from scratch on a world benchmark's corpus. */
export function registerPretrainCommand(program: Command): void {
    program
        .command("pretrain")
        .description("pre-train a llama model from scratch (tokenizer included) on a generated world's corpus and export it as GGUF")
        .option("--config <device|server|file.json>", "a shipped model configuration or a PretrainConfig JSON file", "device")
        .option("--out <gguf>", "exported model (default <work-dir>/<config>.gguf; the shipped models/*.gguf are replaced only when named here)")
        .option("--work-dir <dir>", "initial model and checkpoints (default .checkpoints/pretrain/<config name>)")
        .option("--resume", "continue from the newest checkpoint in the work folder", false)
        .option("--steps <N>", "override the number of optimizer steps")
        .option("--engine <name>", `training engine, one of ${TRAINING_ENGINES.join(", ")} (default: CRAYON_ENGINE, else ggml on a GPU build, tfjs-node where installed, ggml where it passes its self-check, else wasm; a shipped configuration keeps the TensorFlow.js engine it was made with)`)
        .option("--export-checkpoint", "do not train: write the newest checkpoint as a GGUF (default <work-dir>/<name>-step-<N>.gguf), to score a run under way", false)
        .action(async (options: PretrainCommandOptions) => {
            const base = await readConfig(options.config);
            const config = options.steps === undefined ? base : { ...base, steps: integerOption(options.steps, "--steps", 1) };
            const label = isShipped(options.config) ? options.config : config.name;
            const workDir = options.workDir ?? path.join(projectRoot, ".checkpoints", "pretrain", config.name);
            if (options.exportCheckpoint) {
                const exported = await exportLatestCheckpoint(config, workDir, options.out);
                process.stdout.write(`${config.name}: checkpoint at step ${exported.step} of ${config.steps} → ${exported.out}\n`);
                return;
            }
            // not models/<config>.gguf by default: replacing a shipped model would break the shipped pool's fingerprint
            const out = options.out ?? path.join(workDir, `${label}.gguf`);
            await outputFileOption(out, "--out", { createsFolder: true });
            // a shipped model is reproduced on the engine that made it unless another is asked for
            const keepsTfjs = isShipped(options.config) && options.engine === undefined && !process.env["CRAYON_ENGINE"];
            const engine = keepsTfjs ? undefined : await chooseTrainingEngine(options.engine);
            if (engine !== undefined) process.stderr.write(`${engine.line}\n`);
            const exit = ensureRealExit(`pretrain ${config.name}`);
            // SIGINT/SIGTERM: finish the step, checkpoint, and leave a run that --resume continues
            let stopSignal: NodeJS.Signals | null = null;
            const onSignal = (signal: NodeJS.Signals): void => {
                stopSignal = signal;
            };
            process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
            let progress: TrainingProgress | null = null;
            const started = performance.now();
            const result = await pretrain(config, {
                out,
                workDir,
                resume: options.resume,
                engine: engine?.engine,
                onStart: (info) => {
                    process.stderr.write(
                        `${config.name}: ${(info.parameters / 1e6).toFixed(2)} M parameters, ${info.sequences} sequences of ≤ ${info.seqLen} tokens, ` +
                            `batch ${config.batchSize} (${info.microBatch} per pass × ${info.accumulationSteps})` +
                            (info.startStep > 0 ? `, resuming at step ${info.startStep}` : "") + "\n"
                    );
                    progress = new TrainingProgress(config.name, info.totalSteps, info.startStep);
                },
                onTick: (tick) => progress?.update(tick),
                shouldStop: () => stopSignal !== null
            }).finally(() => (progress as TrainingProgress | null)?.stop());
            const minutes = (performance.now() - started) / 60_000;
            if (!result.finished) {
                process.stderr.write(`${config.name}: stopped by ${stopSignal} at step ${result.steps}; checkpoint saved in ${workDir}, continue with --resume\n`);
                exit.markComplete();
                process.exitCode = 130;
                return;
            }
            process.stdout.write(
                `${config.name}: ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}, ${result.trainingTokens} training tokens, ${minutes.toFixed(1)} min this run → ${out}\n`
            );
            exit.markComplete();
        });
}
