import type { TrainingTick } from "./trainingTick.js";
import { rm } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs";
import type { QaItem } from "../data/item.js";
import { createRng } from "../data/random.js";
import type { LoraTarget } from "../gguf/constants.js";
import { readGguf } from "../gguf/reader.js";
import { validateLoraAdapter } from "../gguf/validate.js";
import { disposeLoraStack, initLora } from "../model/lora.js";
import { writeLoraAdapter } from "../model/loraFile.js";
import type { LoadedLlamaModel } from "../model/modelFile.js";
import type { ItemEncoder } from "../runtime/encode.js";
import { loadLatestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { clozeSequence, fittingSeqLen, itemSequence, packBatch, type TrainingSequence } from "./sequences.js";
import type { CreateLoraOptimization } from "./adapterTrainer.js";
import { allChoiceRotations } from "./choiceRotations.js";

export interface ClusterTrainingSpec {
    rank: number;
    alpha: number;
    targets: LoraTarget[];
    steps: number;
    learningRate: number;
    batchSize: number;
    /** tokens per sequence at most; a longer item is cut at the end and loses its answer, so keep it above the longest prompt */
    seqLen: number;
    seed: number;
    /** train (and choose the step) on every rotation of each item's options instead of its one order */
    rotateChoices: boolean;
}

export interface ClusterTrainingResult {
    lossCurve: number[];
    lossEvery: number;
    /** validation loss (nats per answer) at step 0 and every `validationEvery` steps; empty without validation items */
    validationCurve: number[];
    validationEvery: number;
    /** the step whose adapter was written: the lowest validation loss, or the last step without validation items */
    keptStep: number;
    tokensPerSecond: number;
    seconds: number;
}

interface CheckpointMeta {
    lossCurve: number[];
    validationCurve: number[];
    seconds: number;
}

/** Cluster items kept out of training: a seeded ⌈share·n⌉ of them, none when the cluster is too small to spare any. */
export function splitHeldOut(items: readonly QaItem[], share: number, seed: number | string): { train: QaItem[]; heldOut: QaItem[] } {
    const count = items.length >= 10 ? Math.ceil(share * items.length) : 0;
    const shuffled = createRng(seed).shuffle(items);
    return { heldOut: shuffled.slice(0, count), train: shuffled.slice(count) };
}

/** Batch `step` draws from a seeded shuffle of its epoch, so a resumed run sees exactly the batches it would have. */
function batchIndices(step: number, batchSize: number, count: number, seed: number): number[] {
    const orders = new Map<number, number[]>();
    const out: number[] = [];
    for (let slot = step * batchSize; slot < (step + 1) * batchSize; slot++) {
        const epoch = Math.floor(slot / count);
        if (!orders.has(epoch)) orders.set(epoch, createRng(`${seed}:${epoch}`).shuffle([...Array(count).keys()]));
        out.push(orders.get(epoch)![slot % count]!);
    }
    return out;
}

/**
 * Trains one cluster's LoRA on the frozen base — A Kaiming-uniform, B zero, scale α/r, loss on the answer
 * token only — checkpointing as it goes and continuing from the newest checkpoint in `checkpoints`, then
 * writes the adapter as a GGUF LoRA (atomically) and validates it against the base. With validation
 * items it stops early in effect: the adapter written is the one of the step with the lowest validation
 * loss (step 0, B = 0, is the base model itself), so a small cluster cannot over-fit its way past the base.
 */
export async function trainClusterAdapter(args: {
    base: LoadedLlamaModel;
    encoder: ItemEncoder;
    items: readonly QaItem[];
    /** items of the cluster not trained on, for choosing the step to keep */
    validation?: readonly QaItem[];
    spec: ClusterTrainingSpec;
    createOptimization: CreateLoraOptimization;
    checkpoints: string;
    adapterPath: string;
    name: string;
    onStart?: (startStep: number) => void;
    onTick?: (tick: TrainingTick) => void;
}): Promise<ClusterTrainingResult> {
    const { base, spec } = args;
    const eos = args.encoder.eos ?? undefined;
    const encode = (items: readonly QaItem[]): TrainingSequence[] =>
        items.map((item) => (item.scoring === "cloze" ? clozeSequence(args.encoder.encodeCloze(item), eos) : itemSequence(args.encoder.encode(item), "answer")));
    // a cloze item does not show its options, so their order changes nothing
    const orders = (items: readonly QaItem[]): readonly QaItem[] =>
        spec.rotateChoices ? [...allChoiceRotations(items.filter((item) => item.scoring !== "cloze")), ...items.filter((item) => item.scoring === "cloze")] : items;
    const sequences = encode(orders(args.items));
    const validation = encode(orders(args.validation ?? []));
    const seqLen = fittingSeqLen([...sequences, ...validation], spec.seqLen);
    const validationEvery = Math.max(1, Math.ceil(spec.steps / 20));
    const lossEvery = Math.max(1, Math.floor(spec.steps / 50));
    const { stack, variables } = initLora(base.hp, { rank: spec.rank, alpha: spec.alpha, targets: spec.targets, seed: spec.seed });
    const optimization = args.createOptimization({ base, stack, variables, learningRate: spec.learningRate, totalSteps: spec.steps });
    try {
        const validationLoss = async (): Promise<number> => {
            let sum = 0;
            for (let start = 0; start < validation.length; start += spec.batchSize) {
                sum += await optimization.lossSum(packBatch(validation.slice(start, start + spec.batchSize), seqLen));
            }
            return sum / validation.length;
        };
        // the factors of the best step so far (checkpointed with the run), only when there is a validation loss to rank steps by
        const snapshot = async (): Promise<Map<string, Float32Array>> => {
            if (validation.length === 0) return new Map();
            await optimization.syncVariables();
            return new Map(variables.map((v, i) => [`best/${i}`, (v.dataSync() as Float32Array).slice()]));
        };
        const bestStep = (curve: readonly number[]): number => validationEvery * curve.indexOf(Math.min(...curve));
        const checkpoint = await loadLatestCheckpoint<CheckpointMeta>(args.checkpoints);
        let step = 0;
        let meta: CheckpointMeta;
        let best: Map<string, Float32Array>;
        if (checkpoint !== null) {
            await optimization.restore(checkpoint.arrays);
            step = checkpoint.step;
            meta = checkpoint.meta;
            best = new Map([...checkpoint.arrays].filter(([name]) => name.startsWith("best/")));
        } else {
            meta = { lossCurve: [], validationCurve: validation.length > 0 ? [await validationLoss()] : [], seconds: 0 };
            best = await snapshot();
        }
        args.onStart?.(step);
        const checkpointEvery = Math.max(5, Math.ceil(spec.steps / 10));
        const started = performance.now();
        let tokens = 0;
        let lossSum = 0;
        let lossCount = 0;
        for (; step < spec.steps; ) {
            const batch = packBatch(batchIndices(step, spec.batchSize, sequences.length, spec.seed).map((i) => sequences[i]!), seqLen);
            const loss = await optimization.step(batch);
            step++;
            tokens += sequences.length === 0 ? 0 : batch.inputs.length;
            lossSum += loss;
            lossCount++;
            if (step % lossEvery === 0) {
                meta.lossCurve.push(lossSum / lossCount);
                lossSum = lossCount = 0;
            }
            if (validation.length > 0 && step % validationEvery === 0) {
                const loss = await validationLoss();
                if (loss < Math.min(...meta.validationCurve)) best = await snapshot();
                meta.validationCurve.push(loss);
            }
            const elapsed = (performance.now() - started) / 1000;
            args.onTick?.({ step, loss, tokensPerSecond: tokens / Math.max(elapsed, 1e-9) });
            if (step % checkpointEvery === 0 && step < spec.steps) {
                await saveCheckpoint(args.checkpoints, { step, meta: { ...meta, seconds: meta.seconds + elapsed }, arrays: new Map([...(await optimization.state()), ...best]) });
            }
        }
        const keptStep = validation.length > 0 ? bestStep(meta.validationCurve) : spec.steps;
        await optimization.syncVariables();
        if (keptStep !== spec.steps) variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(best.get(`best/${i}`)!, v.shape, "float32"))));
        const seconds = meta.seconds + (performance.now() - started) / 1000;
        await writeLoraAdapter(args.adapterPath, { architecture: base.hp.architecture, alpha: spec.alpha, stack, name: args.name });
        validateLoraAdapter(await readGguf(args.adapterPath), base.file);
        await rm(args.checkpoints, { recursive: true, force: true });
        return { lossCurve: meta.lossCurve, lossEvery, validationCurve: meta.validationCurve, validationEvery, keptStep, tokensPerSecond: tokens / Math.max((performance.now() - started) / 1000, 1e-9), seconds };
    } finally {
        optimization.dispose();
        disposeLoraStack(stack);
    }
}
