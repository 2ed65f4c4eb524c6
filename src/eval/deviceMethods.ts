import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import { blendAdapters } from "../blend/blendAdapters.js";
import type { EmbedItems } from "../blend/types.js";
import { llamaFewShotLoss } from "../blend/weights/fewShotLoss.js";
import type { FewShotLoss } from "../blend/weights/lorahubWeights.js";
import type { GgufFile } from "../gguf/types.js";
import type { LoadedPool } from "../pool/loadPool.js";
import { ItemEncoder } from "../runtime/encode.js";
import type { AdapterRef, LlamaRuntime } from "../runtime/llama.js";
import type { DeviceScorer } from "./deviceScorer.js";
import type { TaskPlan } from "./evalPlan.js";
import type { ProgressCounter } from "./progress.js";
import { accuracyOf, type ScoredItem } from "./scoredItem.js";
import { blendSettings, isBlendMethod, type EvalMethod, type MethodResult } from "./types.js";

/** What the device methods run on: the loaded base model, the pool, and where blends are written. */
export interface DeviceSetup {
    runtime: LlamaRuntime;
    model: LlamaModel;
    modelPath: string;
    /** the base model's GGUF, read once: every blend is validated against it */
    base: GgufFile;
    pool: LoadedPool;
    device: DeviceScorer;
    embed: EmbedItems;
    /** the run folder; blends go to its adapters/ */
    out: string;
    lorahubBudget: number;
    seed: number;
    progress: ProgressCounter;
}

/** A method's result on one task, with the adapter set it ran with and its per-item answers. */
export interface TaskMethodRun {
    result: MethodResult;
    adapters: AdapterRef[];
    scored: ScoredItem[];
}

/**
 * One task under one device method: the base model alone, or a blend of the pool from the task's k
 * examples (written to `<out>/adapters`, named by content hash), scored on the task's test items.
 */
export async function runTaskMethod(setup: DeviceSetup, task: TaskPlan, method: Exclude<EvalMethod, "oracle">): Promise<TaskMethodRun> {
    const { progress } = setup;
    let adapters: AdapterRef[] = [];
    let blend: MethodResult["blend"];
    if (isBlendMethod(method)) {
        progress.stage(`${task.task}: blend ${method}`);
        const fewShotLoss = fewShotLossOf(setup, task);
        const { method: blendMethod, strength } = blendSettings(method);
        const result = await blendAdapters(setup.pool, task.shots, {
            method: blendMethod,
            combine: "concat",
            out: path.join(setup.out, "adapters"),
            base: setup.base,
            embed: setup.embed,
            lorahub: { budget: setup.lorahubBudget, seed: setup.seed, fewShotLoss },
            strength,
            strengthLoss: fewShotLoss
        });
        if (method !== "lorahub") progress.advance("blend"); // the loss evaluations (lorahub, strength auto) advanced as they ran
        adapters = [{ path: result.adapterPath, scale: 1 }];
        blend = {
            weights: result.weights, adapter: path.relative(setup.out, result.adapterPath), sha256: result.sha256,
            ...(result.search ? { search: result.search } : {}),
            ...(result.strength.losses ? { strength: result.strength } : {})
        };
    }
    progress.stage(`${task.task}: score ${method}`);
    const scored = await setup.device.score(adapters, task.userTask.test, () => progress.advance("deviceItem"));
    return { result: { ...methodResult(scored), ...(blend === undefined ? {} : { blend }) }, adapters, scored };
}

/**
 * The oracle: every pool adapter alone on every task's test items, and per task the one with the best
 * accuracy (the first of equals). It reads the test labels to choose, so it is an upper reference only.
 */
export async function runOracle(setup: DeviceSetup, tasks: readonly TaskPlan[]): Promise<MethodResult[]> {
    const { pool, progress } = setup;
    const allTest = tasks.flatMap((t) => t.userTask.test);
    const byAdapter: ScoredItem[][][] = []; // [adapter][task][item]
    for (const [k, adapterPath] of pool.adapterPaths.entries()) {
        progress.stage(`oracle: adapter ${pool.manifest.adapters[k]!.id}`);
        const scored = await setup.device.score([{ path: adapterPath, scale: 1 }], allTest, () => progress.advance("deviceItem"));
        let start = 0;
        byAdapter.push(tasks.map((t) => scored.slice(start, (start += t.userTask.test.length))));
    }
    return tasks.map((_, t) => {
        const accuracies = byAdapter.map((perTask) => accuracyOf(perTask[t]!));
        const best = accuracies.indexOf(Math.max(...accuracies));
        return {
            ...methodResult(byAdapter[best]![t]!),
            oracle: { adapterId: pool.manifest.adapters[best]!.id, accuracyByAdapter: Object.fromEntries(pool.manifest.adapters.map((a, k) => [a.id, accuracies[k]!])) }
        };
    });
}

/** lorahub's objective (and strength auto's) on the task's k examples, one progress unit per evaluation. */
function fewShotLossOf(setup: DeviceSetup, task: TaskPlan): FewShotLoss {
    const encoder = new ItemEncoder(setup.model, setup.modelPath);
    const loss = llamaFewShotLoss(setup.runtime, setup.model, setup.pool.adapterPaths, encoder, task.shots);
    return async (weights) => {
        const value = await loss(weights);
        setup.progress.advance("lossEvaluation");
        return value;
    };
}

function methodResult(scored: readonly ScoredItem[]): MethodResult {
    return {
        accuracy: accuracyOf(scored),
        correct: scored.filter((s) => s.correct).length,
        choices: scored.map((s) => s.choice),
        confidences: scored.map((s) => s.confidence)
    };
}
