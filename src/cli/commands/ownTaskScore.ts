import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { baseModelHooks } from "../../blend/baseModelHooks.js";
import { blendAdapters } from "../../blend/blendAdapters.js";
import type { BlendMethod } from "../../blend/types.js";
import { scoredAs, type QaItem } from "../../data/item.js";
import type { ScoringMode } from "../../data/prompt.js";
import { pairedDifference, type PairedDifference } from "../../eval/pairedDifference.js";
import { readGguf } from "../../gguf/reader.js";
import { loadPool } from "../../pool/loadPool.js";
import { ItemEncoder } from "../../runtime/encode.js";
import type { AdapterRef, LlamaRuntime } from "../../runtime/llama.js";
import { ItemScorer, type ItemScores } from "../../runtime/scoring.js";
import { accuracyOfScores, type TaskAccuracy } from "../../runtime/taskAccuracy.js";

/** What `crayon score --test` reports: the base model, and the adapted one with the paired difference when there is one. */
export interface OwnTaskReport {
    base: TaskAccuracy;
    adapted?: TaskAccuracy & { adapter: string };
    /** adapted − base accuracy with its bootstrap 95% interval (items resampled, paired), 0–1 */
    difference?: PairedDifference;
}

export interface OwnTaskOptions {
    runtime: LlamaRuntime;
    modelPath: string;
    name: string;
    test: readonly QaItem[];
    scoring: ScoringMode | undefined;
    /** an adapter to compare with the base */
    adapter?: string;
    /** or examples to blend one from the pool with `method` */
    blend?: { examples: readonly QaItem[]; poolDir: string; method: BlendMethod };
}

/**
 * A user's own test set scored on the base model and, with an adapter (given, or blended from their
 * examples), on the adapted one: the same items, so the difference is paired and its interval honest.
 */
export async function scoreOwnTask(options: OwnTaskOptions): Promise<OwnTaskReport> {
    const { runtime, modelPath } = options;
    const pool = options.blend === undefined ? undefined : await loadPool(options.blend.poolDir, { baseModelPath: modelPath });
    // items are scored as asked, else as the pool's adapters were trained, else by option likelihood, which any model can do
    const scoring = options.scoring ?? pool?.manifest.scoring ?? "cloze";
    const test = scoredAs(options.test, scoring);
    const model = await runtime.loadModel(modelPath);
    const encoder = new ItemEncoder(model, modelPath);
    const scoreWith = async (adapters: AdapterRef[]): Promise<ItemScores[]> => {
        const context = await runtime.createContext(model, { adapters, contextSize: model.trainContextSize });
        try {
            return await new ItemScorer(context.getSequence(), encoder).scoreAll(test);
        } finally {
            await context.dispose();
        }
    };
    const baseScores = await scoreWith([]);
    const base = accuracyOfScores(options.name, test, baseScores);
    let adapterPath = options.adapter;
    let blendDir: string | undefined;
    try {
        if (options.blend !== undefined && pool !== undefined) {
            const examples = scoredAs(options.blend.examples, scoring);
            blendDir = await mkdtemp(path.join(os.tmpdir(), "crayon-score-blend-"));
            const hooks = await baseModelHooks(runtime, model, modelPath, pool, examples, options.blend.method);
            try {
                const result = await blendAdapters(pool, examples, { method: options.blend.method, combine: "concat", out: blendDir, base: await readGguf(modelPath), ...hooks.options });
                adapterPath = result.adapterPath;
            } finally {
                await hooks.dispose();
            }
        }
        if (adapterPath === undefined) return { base };
        const adaptedScores = await scoreWith([{ path: adapterPath, scale: 1 }]);
        const adapted = { ...accuracyOfScores(options.name, test, adaptedScores), adapter: options.adapter ?? `${options.blend!.method} blend of ${path.basename(options.blend!.poolDir)}` };
        const correct = (scores: ItemScores[]) => [scores.map((s, i) => s.choice === test[i]!.answer)];
        return { base, adapted, difference: pairedDifference(correct(adaptedScores), correct(baseScores), { seed: options.name }) };
    } finally {
        if (blendDir !== undefined) await rm(blendDir, { recursive: true, force: true });
    }
}

/** The report as lines for a terminal. */
export function ownTaskLines(report: OwnTaskReport): string[] {
    const percent = (share: number) => `${(100 * share).toFixed(1)}%`;
    const row = (label: string, r: TaskAccuracy) =>
        `${label.padEnd(10)} ${percent(r.accuracy).padStart(7)}${r.rawAccuracy === null ? "" : `  (acc ${percent(r.rawAccuracy)})`}  chance ${percent(r.chance)}  confidence ${percent(r.meanConfidence)}`;
    const lines = [`${report.base.task}: ${report.base.items} items`, row("base", report.base)];
    if (report.adapted !== undefined && report.difference !== undefined) {
        const { difference, low, high } = report.difference;
        const points = (share: number) => `${share >= 0 ? "+" : ""}${(100 * share).toFixed(1)}`;
        lines.push(row("adapted", report.adapted), `adapter    ${report.adapted.adapter}`, `difference ${points(difference)} points (bootstrap 95% interval ${points(low)} to ${points(high)})`);
    }
    return lines;
}
