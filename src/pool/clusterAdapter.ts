import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import type { QaItem } from "../data/item.js";
import type { LoadedLlamaModel } from "../model/modelFile.js";
import type { ItemEncoder } from "../runtime/encode.js";
import type { LlamaRuntime } from "../runtime/llama.js";
import type { CreateLoraOptimization } from "../train/adapterTrainer.js";
import { countBy } from "./clusterReport.js";
import { splitHeldOut, trainClusterAdapter, type ClusterTrainingSpec } from "../train/clusterTraining.js";
import type { TrainingTick } from "../train/trainingTick.js";
import { sha256File } from "./fingerprint.js";
import { answerMetrics } from "./heldOutLoss.js";
import type { BaseModelFingerprint, HeldOutTaskAccuracy, PoolAdapter, PoolBuildSettings } from "./manifest.js";
import { adapterFile, adapterId } from "./poolFiles.js";

/**
 * Everything that decides one cluster's adapter: the same whether it is trained inside `build-pool` or by
 * a `crayon worker` that took it from a queue (where it is the job's data, so it must stay plain JSON).
 */
export interface ClusterJob {
    /** the pool folder's name; the adapter's `general.name` is `<poolName>-<id>` */
    poolName: string;
    baseModel: BaseModelFingerprint;
    settings: PoolBuildSettings;
    cluster: number;
    /** every item of the cluster, held-out and validation items included: the splits are made here, seeded */
    members: QaItem[];
}

/** The base model loaded both ways: tfjs weights to train on, node-llama-cpp to score held-out items. */
export interface LoadedBase {
    base: LoadedLlamaModel;
    runtime: LlamaRuntime;
    model: LlamaModel;
    encoder: ItemEncoder;
}

/** Optimisation steps of one adapter: `steps`, or `epochs` passes over its training items. */
export function adapterSteps(settings: PoolBuildSettings, trainItems: number): number {
    return settings.steps ?? Math.max(1, Math.ceil((settings.epochs! * trainItems) / settings.batchSize));
}

/**
 * Trains one cluster's adapter into `adapterPath` (continuing from `checkpoints` when a run was
 * interrupted), scores its held-out items with and without it, and returns its manifest record.
 */
export async function trainPoolAdapter(
    loaded: LoadedBase,
    job: ClusterJob,
    files: { adapterPath: string; checkpoints: string },
    training: { createOptimization: CreateLoraOptimization; onStart?: (startStep: number, totalSteps: number) => void; onTick?: (tick: TrainingTick) => void }
): Promise<PoolAdapter> {
    const { runtime, model, encoder } = loaded;
    const { settings, cluster, members } = job;
    const { adapterPath } = files;
    const id = adapterId(cluster);
    const { train: trainAndValidation, heldOut } = splitHeldOut(members, settings.heldOutShare, settings.seed + cluster);
    const { train, heldOut: validation } = splitHeldOut(trainAndValidation, settings.validationShare, `validation:${settings.seed + cluster}`);
    const steps = adapterSteps(settings, train.length);
    const spec: ClusterTrainingSpec = {
        rank: settings.rank,
        alpha: settings.alpha,
        targets: settings.targets,
        steps,
        learningRate: settings.learningRate,
        batchSize: settings.batchSize,
        seqLen: settings.seqLen,
        seed: settings.seed * 1000 + cluster,
        rotateChoices: settings.rotateChoices ?? false
    };
    const result = await trainClusterAdapter({
        base: loaded.base,
        encoder,
        items: train,
        validation,
        spec,
        createOptimization: training.createOptimization,
        checkpoints: files.checkpoints,
        adapterPath,
        name: `${job.poolName}-${id}`,
        onStart: (startStep) => training.onStart?.(startStep, steps),
        onTick: training.onTick
    });
    const heldOutMetrics = async () => {
        const base = await answerMetrics(runtime, model, encoder, heldOut);
        const adapted = await answerMetrics(runtime, model, encoder, heldOut, [{ path: adapterPath, scale: 1 }]);
        const heldOutByTask: HeldOutTaskAccuracy[] = Object.entries(countBy(heldOut, (item) => item.task))
            .sort(([, a], [, b]) => b - a)
            .map(([task, items]) => {
                const share = (correct: boolean[]) => correct.filter((right, i) => right && heldOut[i]!.task === task).length / items;
                return { task, items, accuracyBase: share(base.correct), accuracyAdapter: share(adapted.correct) };
            });
        return { heldOutLossBase: base.loss, heldOutLossAdapter: adapted.loss, heldOutAccuracyBase: base.accuracy, heldOutAccuracyAdapter: adapted.accuracy, heldOutByTask };
    };
    const heldOutScores = heldOut.length === 0 ? {} : await heldOutMetrics();
    return {
        id,
        file: adapterFile(id),
        sha256: await sha256File(adapterPath),
        rank: settings.rank,
        alpha: settings.alpha,
        targets: settings.targets,
        cluster,
        clusterSize: train.length,
        tasks: countBy(train, (item) => item.task),
        sources: countBy(train, (item) => item.source),
        training: {
            steps,
            lossCurve: result.lossCurve,
            lossEvery: result.lossEvery,
            validationCurve: result.validationCurve,
            validationEvery: result.validationEvery,
            validationItems: validation.length,
            keptStep: result.keptStep,
            ...heldOutScores,
            heldOutItems: heldOut.length,
            tokensPerSecond: result.tokensPerSecond,
            seconds: result.seconds
        }
    };
}

/** The pool folder's name as adapters and the manifest record it. */
export const poolName = (outDir: string): string => path.basename(path.resolve(outDir));
