import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { CrayonError } from "../errors.js";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import type { ScoredItem } from "./scoredItem.js";
import type { EvalConfig, EvalMethod, EvalOptions, MethodResult } from "./types.js";

/** The stopped run's results in its folder, replaced as each task finishes and removed once results.json is written. */
export const PARTIAL_FILE = "partial.json";

/** A task whose device work is done: everything its TaskResult is made from besides the server's scores. */
export interface FinishedTask {
    task: string;
    methods: Partial<Record<EvalMethod, MethodResult>>;
    /** the hybrid method on the task's test items, then on its out-of-scope queries: the routing set's device half */
    hybridScored: ScoredItem[];
    /** the routing set's scope signals, in the order of its queries */
    scopes: number[];
}

export interface PartialResults {
    format: "crayon-eval-partial";
    /** `configSha256` of the run: a resumed run must have the same */
    configSha256: string;
    tasks: FinishedTask[];
    /** the server's scores obtained so far, one per distinct query */
    serverScores: ScoredItem[];
}

export function partialResultsPath(out: string): string {
    return path.join(out, PARTIAL_FILE);
}

/**
 * What makes two runs' numbers the same: the configuration without the places files were found at (the
 * files themselves are identified by their sha256), and the scoring override, which results.json does not keep.
 */
export function configSha256(config: EvalConfig, scoring: EvalOptions["scoring"]): string {
    const { path: _device, ...deviceModel } = config.deviceModel;
    const { dir: _pool, ...pool } = config.pool;
    const server = config.server.kind === "spawned" ? { ...config.server, model: { sha256: config.server.model.sha256 } } : config.server;
    const canonical = JSON.stringify({ ...config, deviceModel, pool, server, scoring: scoring ?? null });
    return createHash("sha256").update(canonical).digest("hex");
}

export function writePartialResults(out: string, partial: PartialResults): void {
    writeFileAtomic(partialResultsPath(out), [`${JSON.stringify(partial)}\n`]);
}

/** The stopped run's partial results in `out`. */
export function readPartialResults(out: string): PartialResults {
    const file = partialResultsPath(out);
    if (!existsSync(file)) throw new CrayonError(`--resume: ${out} holds no stopped run (no ${PARTIAL_FILE}); give the --out of a stopped eval, or run without --resume`);
    let partial: PartialResults;
    try {
        partial = JSON.parse(readFileSync(file, "utf8")) as PartialResults;
    } catch (error) {
        throw new CrayonError(`--resume: ${file} is not valid JSON (${(error as Error).message}); delete it and run without --resume`);
    }
    if (partial.format !== "crayon-eval-partial") throw new CrayonError(`--resume: ${file} is not an eval's partial results; delete it and run without --resume`);
    return partial;
}

/** Refuses to resume a run made with another configuration: its numbers and this run's would not be one run's. */
export function checkSameRun(partial: PartialResults, runConfigSha256: string, out: string): void {
    if (partial.configSha256 !== runConfigSha256) {
        throw new CrayonError(`--resume: the run stopped in ${out} had other options, benchmark, models or pool; give the same ones, or run without --resume in another --out`);
    }
}

/** A finished run needs no partial results. */
export function removePartialResults(out: string): void {
    rmSync(partialResultsPath(out), { force: true });
}
