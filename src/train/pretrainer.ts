import { mkdir } from "node:fs/promises";
import { CrayonError } from "../errors.js";
import { loadBenchmark } from "../data/benchmark/loadBenchmark.js";
import type { Benchmark } from "../data/benchmark/types.js";
import { questionKey, type QaItem } from "../data/item.js";
import { answerContinuation, clozeContinuation, formatClozeContext, formatPrompt, OPTION_LETTERS, type ScoringMode } from "../data/prompt.js";
import { createRng } from "../data/random.js";
import { GgmlType } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import { readLlamaHparams, type LlamaHparams } from "../gguf/llamaHparams.js";
import { disposeWeights, weightsFromGguf } from "../model/weights.js";
import { writeRandomLlamaModel } from "../model/randomModel.js";
import { ItemEncoder } from "../runtime/encode.js";
import { LlamaRuntime } from "../runtime/llama.js";
import { learnSpmPieces } from "../tokenizer/learnPieces.js";
import { SPM_SPACE } from "../tokenizer/spmVocab.js";
import { saveCheckpoint } from "./checkpoint.js";
import { exportPretrainedModel, loadPretrainCheckpoint, pretrainAdamWConfig, pretrainOptimizer, pretrainPaths, type PretrainCheckpointMeta } from "./pretrainState.js";
import type { PretrainConfig } from "./pretrainConfig.js";
import { clozeSequence, fittingSeqLen, itemSequence, packBatch, type TokenBatch, type TrainingSequence } from "./sequences.js";
import { setupEngine } from "./engine/backend.js";
import { engineMemoryLimit, parameterCount, planBatch } from "./engine/memoryGuard.js";
import { chooseTrainingEngine, ggmlThreads, type TrainingEngine } from "./ggml/engineChoice.js";
import { openTrainingSteps } from "./ggml/fullTraining.js";
import { disposeTrainable, fullTrainable, splitBatch } from "./trainStep.js";
import type { TrainingTick } from "./trainingTick.js";

export interface PretrainRun {
    /** the exported GGUF */
    out: string;
    /** initial model (holds the tokenizer) and checkpoints */
    workDir: string;
    /** continue from the newest checkpoint in workDir */
    resume: boolean;
    /** the training engine; default: chooseTrainingEngine's rule (ggml/engineChoice.ts) */
    engine?: TrainingEngine;
    /** stop (after checkpointing) once this step is reached — lets tests interrupt a run */
    stopAtStep?: number;
    /** polled after every step: true stops the run after a checkpoint (e.g. on SIGINT) */
    shouldStop?: () => boolean;
    onStart?: (info: PretrainStart) => void;
    onTick?: (tick: TrainingTick) => void;
}

export interface PretrainStart {
    startStep: number;
    totalSteps: number;
    sequences: number;
    seqLen: number; // tokens per row of the longest batch
    parameters: number;
    microBatch: number; // sequences per forward/backward pass (the memory guard's plan)
    accumulationSteps: number; // micro-batches per optimizer step
}

export interface PretrainResult {
    finished: boolean;
    steps: number;
    /** scored tokens seen over the whole run */
    trainingTokens: number;
    finalLoss: number;
    hp: LlamaHparams;
}

/**
 * The items a configuration pre-trains on: the benchmark's corpus — for a device, without the pool's
 * items and the server's own — never a test item.
 */
export function pretrainCorpus(benchmark: Benchmark, config: Pick<PretrainConfig, "benchmark" | "deviceCorpus">): QaItem[] {
    const left = new Set([...benchmark.pool, ...(benchmark.serverOnly ?? [])].map((item) => item.id));
    const corpus = config.deviceCorpus === true ? benchmark.pretrain?.filter((item) => !left.has(item.id)) : benchmark.pretrain;
    if (corpus === undefined || corpus.length === 0) {
        throw new CrayonError(`benchmark ${config.benchmark} has no pre-training corpus (only generated-world benchmarks do)`);
    }
    assertNoTestLeak(corpus, [...benchmark.userTasks.flatMap((t) => t.test), ...benchmark.outOfScope], config.benchmark);
    return corpus;
}

/** No user-task or out-of-scope test question may be in a pre-training corpus. */
export function assertNoTestLeak(pretrain: QaItem[], tests: QaItem[], benchmark: string): void {
    const testKeys = new Set(tests.map(questionKey));
    const testIds = new Set(tests.map((t) => t.id));
    const leaked = pretrain.find((item) => testIds.has(item.id) || testKeys.has(questionKey(item)));
    if (leaked) throw new CrayonError(`benchmark ${benchmark}: pre-training item ${leaked.id} is also a test item`);
}

/** An item as the text a model is taught: the lettered prompt and the letter, or the question and the answer's text. */
function itemText(item: QaItem, scoring: ScoringMode): string {
    if (scoring === "cloze") return `${formatClozeContext(item)}${clozeContinuation(item.choices[item.answer]!)}`;
    return `${formatPrompt(item)}${answerContinuation(item.answer)}`;
}

/**
 * The pieces learnt from the corpus as the model is taught it, plus " A"…" H" as single pieces: under
 * letter scoring an option is scored by its letter's one token (and a cloze-taught model can be letter-scored too).
 */
export function vocabularyPieces(corpus: QaItem[], pieceCount: number, scoring: ScoringMode): string[] {
    const pieces = learnSpmPieces(corpus.map((item) => itemText(item, scoring)), { pieceCount });
    for (const letter of OPTION_LETTERS) {
        for (const piece of [letter, SPM_SPACE + letter]) if (!pieces.includes(piece)) pieces.push(piece);
    }
    return pieces;
}

/**
 * Which sequences form batch `step`: epoch e visits all sequences in a permutation seeded by (seed, e).
 * A pure function of the step, so a resumed run sees exactly the batches an uninterrupted one would.
 */
function batchOrder(count: number, batchSize: number, seed: number): (step: number) => number[] {
    const permutations = new Map<number, number[]>();
    const permutation = (epoch: number): number[] => {
        let order = permutations.get(epoch);
        if (order === undefined) {
            order = createRng(`pretrain:${seed}:${epoch}`).shuffle(Array.from({ length: count }, (_, i) => i));
            permutations.clear();
            permutations.set(epoch, order);
        }
        return order;
    };
    return (step) =>
        Array.from({ length: batchSize }, (_, j) => {
            const position = step * batchSize + j;
            return permutation(Math.floor(position / count))[position % count]!;
        });
}

/** Pre-trains a llama model from scratch on a benchmark's corpus, checkpointed and resumable. */
export async function pretrain(config: PretrainConfig, run: PretrainRun): Promise<PretrainResult> {
    const corpus = pretrainCorpus(await loadBenchmark(config.benchmark), config);
    const weight = config.promptLossWeight;
    if (weight !== undefined && (config.lossOn !== "answer" || !(weight >= 0 && weight <= 1))) {
        throw new CrayonError(`config ${config.name}: promptLossWeight ${weight} needs lossOn "answer" and a value in [0, 1]`);
    }

    const engineName = run.engine ?? (await chooseTrainingEngine(undefined)).engine;
    const info = await setupEngine();
    await mkdir(run.workDir, { recursive: true });
    const { init: initPath, checkpoints: checkpointDir } = pretrainPaths(run.workDir);
    const checkpoint = run.resume ? await loadPretrainCheckpoint(run.workDir, config) : null;
    // rebuilt on every start (it is a pure function of the config), so a checkpoint never meets another run's tokenizer
    await writeRandomLlamaModel(initPath, {
        ...config.model,
        matrixType: GgmlType.F32,
        seed: config.seed,
        pieces: vocabularyPieces(corpus, config.vocabPieces, config.scoring),
        name: `${config.name}-init`
    });
    const initFile = await readGguf(initPath);

    // tokenize through llama.cpp itself so that training and inference split text identically
    const runtime = await LlamaRuntime.create({ threads: 1 });
    let sequences: TrainingSequence[];
    try {
        const vocabModel = await runtime.loadModel(initPath, { vocabOnly: true });
        const encoder = new ItemEncoder(vocabModel, initPath);
        const eos = vocabModel.tokens.eos ?? undefined;
        sequences = corpus.map((item) =>
            config.scoring === "cloze"
                ? clozeSequence(encoder.encodeCloze(item), eos, config.promptLossWeight)
                : itemSequence(encoder.encode(item), config.lossOn, eos, config.promptLossWeight)
        );
    } finally {
        await runtime.dispose();
    }
    const seqLen = fittingSeqLen(sequences, config.maxSeqLen);

    const hp = readLlamaHparams(initFile);
    const plan = planBatch({ hp, mode: "full", seqLen, batchSize: config.batchSize }, engineMemoryLimit(info));
    const model = fullTrainable(hp, await weightsFromGguf(initFile, hp));
    const optimizer = pretrainOptimizer(model, config);
    const engine = await openTrainingSteps(engineName, model, optimizer, () => ({ modelPath: initPath, lora: null, optimizer: pretrainAdamWConfig(config), threads: ggmlThreads() }));
    try {
        let startStep = 0;
        let lossHistory: number[] = [];
        let trainingTokens = 0;
        if (checkpoint) {
            await engine.restore(checkpoint.arrays, checkpointDir);
            startStep = checkpoint.step;
            lossHistory = checkpoint.meta.lossHistory;
            trainingTokens = checkpoint.meta.trainingTokens;
        }
        run.onStart?.({
            startStep,
            totalSteps: config.steps,
            sequences: sequences.length,
            seqLen,
            parameters: parameterCount(hp),
            microBatch: plan.microBatch,
            accumulationSteps: plan.accumulationSteps
        });
        const order = batchOrder(sequences.length, config.batchSize, config.seed);
        // each batch only as long as its own longest sequence: no compute on padding the batch does not need
        const batchAt = (step: number): TokenBatch => {
            const rows = order(step).map((i) => sequences[i]!);
            return packBatch(rows, fittingSeqLen(rows, seqLen));
        };
        const started = performance.now();
        let tokensSinceStart = 0;
        let lastStep = Math.min(config.steps, run.stopAtStep ?? config.steps);
        let checkpointStep = startStep;
        engine.setCrashHint(() => (checkpointStep > 0 ? `the checkpoint at step ${checkpointStep} in ${checkpointDir} is intact: continue with --resume` : "no checkpoint was written yet"));
        for (let step = startStep; step < lastStep; step++) {
            const batch = batchAt(step);
            const { loss } = await engine.step(splitBatch(batch, plan.microBatch), step + 1);
            lossHistory.push(loss);
            trainingTokens += batch.scoredTokens;
            tokensSinceStart += batch.batchSize * batch.seqLen;
            const done = step + 1;
            await new Promise(setImmediate); // lets signal handlers run between steps
            if (run.shouldStop?.()) lastStep = done;
            run.onTick?.({ step: done, loss, tokensPerSecond: tokensSinceStart / ((performance.now() - started) / 1000) });
            if (done % config.checkpointEvery === 0 || done === lastStep) {
                await saveCheckpoint<PretrainCheckpointMeta>(checkpointDir, {
                    step: done,
                    meta: { config, lossHistory, trainingTokens },
                    arrays: await engine.state()
                });
                checkpointStep = done;
            }
        }
        const finished = lastStep === config.steps;
        if (finished) await engine.syncModel();
        if (finished) await exportPretrainedModel(run.out, { hp, weights: model.weights, initFile, name: config.name, matrixType: config.matrixType });
        return { finished, steps: lastStep, trainingTokens, finalLoss: lossHistory.at(-1) ?? Number.NaN, hp };
    } finally {
        engine.dispose();
        disposeTrainable(model);
        disposeWeights(model.weights);
    }
}

