import { mkdir } from "node:fs/promises";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLlamaModel } from "../gguf/validate.js";
import { readLlamaHparams, type LlamaHparams } from "../gguf/llamaHparams.js";
import { tokenizerMetadataOf, writeLlamaModel } from "../model/modelFile.js";
import { disposeWeights, weightsFromGguf, type LlamaWeights } from "../model/weights.js";
import { loadLatestCheckpoint, type Checkpoint } from "./checkpoint.js";
import { setupEngine } from "./engine/backend.js";
import type { PretrainConfig } from "./pretrainConfig.js";
import { AdamW, type AdamWConfig } from "./adamw.js";
import { disposeTrainable, fullTrainable, type TrainableModel } from "./trainStep.js";
import { restoreTrainingState } from "./trainingState.js";

/** What a pre-training checkpoint carries besides the weights and optimizer state. */
export interface PretrainCheckpointMeta {
    config: PretrainConfig;
    lossHistory: number[];
    trainingTokens: number;
}

/** A run's work folder: the initial model (which holds the tokenizer) and its checkpoints. */
export const pretrainPaths = (workDir: string) => ({ init: path.join(workDir, "init.gguf"), checkpoints: path.join(workDir, "checkpoints") });

/** The optimizer a configuration trains with: AdamW, warm-up then cosine decay to the floor rate. */
export function pretrainOptimizer(model: TrainableModel, config: PretrainConfig): AdamW {
    return new AdamW(model.variables, pretrainAdamWConfig(config));
}

/** The AdamW settings of a configuration (the ggml engine applies the same ones). */
export function pretrainAdamWConfig(config: PretrainConfig): Partial<AdamWConfig> & Pick<AdamWConfig, "schedule"> {
    return {
        schedule: { peak: config.learningRate, floor: config.minLearningRate, warmupSteps: config.warmupSteps, totalSteps: config.steps },
        weightDecay: config.weightDecay,
        maxGradNorm: config.clipNorm
    };
}

/** The newest checkpoint in a work folder, refused when another configuration made it. */
export async function loadPretrainCheckpoint(workDir: string, config: PretrainConfig): Promise<Checkpoint<PretrainCheckpointMeta> | null> {
    const dir = pretrainPaths(workDir).checkpoints;
    const checkpoint = await loadLatestCheckpoint<PretrainCheckpointMeta>(dir);
    if (checkpoint && canonicalJson(checkpoint.meta.config) !== canonicalJson(config)) {
        throw new CrayonError(`${dir}: its checkpoint was made with another configuration than ${config.name}'s; give the run's own --config, or remove the folder to start afresh`);
    }
    return checkpoint;
}

/** Writes trained weights as a llama GGUF with the initial model's tokenizer, checked to load and decode. */
export async function exportPretrainedModel(out: string, model: { hp: LlamaHparams; weights: LlamaWeights; initFile: GgufFile; name: string; matrixType: PretrainConfig["matrixType"] }): Promise<void> {
    await mkdir(path.dirname(out), { recursive: true });
    await writeLlamaModel(out, { hp: model.hp, weights: model.weights, tokenizer: tokenizerMetadataOf(model.initFile), name: model.name, matrixType: model.matrixType });
    validateLlamaModel(await readGguf(out), { requireDecodable: true });
}

/**
 * Exports the newest checkpoint of a run as a GGUF named `<config name>-step-<N>` (by default into the
 * work folder, under that name), without training: a long run can be scored while it is under way.
 */
export async function exportLatestCheckpoint(config: PretrainConfig, workDir: string, out?: string): Promise<{ step: number; out: string }> {
    const paths = pretrainPaths(workDir);
    const checkpoint = await loadPretrainCheckpoint(workDir, config);
    if (checkpoint === null) throw new CrayonError(`${paths.checkpoints}: no checkpoint to export; start the run first`);
    const initFile = await readGguf(paths.init).catch(() => {
        throw new CrayonError(`${paths.init}: missing or unreadable; it is written when the run starts`);
    });
    await setupEngine();
    const hp = readLlamaHparams(initFile);
    const model = fullTrainable(hp, await weightsFromGguf(initFile, hp));
    try {
        restoreTrainingState(pretrainOptimizer(model, config), checkpoint.arrays, paths.checkpoints);
        const name = `${config.name}-step-${checkpoint.step}`;
        const file = out ?? path.join(workDir, `${name}.gguf`);
        await exportPretrainedModel(file, { hp, weights: model.weights, initFile, name, matrixType: config.matrixType });
        return { step: checkpoint.step, out: file };
    } finally {
        disposeTrainable(model);
        disposeWeights(model.weights);
    }
}

/** JSON with object keys sorted: equal configurations compare equal whatever order their keys were written in. */
function canonicalJson(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v
    );
}
