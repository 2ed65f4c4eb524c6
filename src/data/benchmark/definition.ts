import { CrayonError } from "../../errors.js";
import { SCORING_MODES, type ScoringMode } from "../prompt.js";
import type { WorldOptions } from "../world/facts.js";

/**
 * The JSON file that defines a benchmark (`datasets/<name>.json`): which tasks train the pool, which are
 * the user tasks (k-shot candidates + held-out test items), which queries are out of scope and, for the
 * generated world, what else the embedded models are pre-trained on.
 */
export const BENCHMARK_FORMAT = "crayon-benchmark";
export const BENCHMARK_FORMAT_VERSION = 1;

/**
 * `pool`: trains the adapters; `user`: a customization target; `out-of-scope`: should go to the server (its
 * pre-training items, on a world benchmark, train the server only); `pretrain`: the base models' corpus;
 * `server`: the server's corpus only — what the larger model knows and the device does not.
 */
export type TaskRole = "pool" | "user" | "out-of-scope" | "pretrain" | "server";
export type TaskPart = "pool" | "shots" | "test" | "pretrain";

/** Items taken from a public dataset split: shuffled with the benchmark seed, then `offset`/`count` cut a slice. */
export interface Selection {
    dataset: string;
    split: string;
    /** MMLU only: a subject group named in `subjectGroups`, or an explicit subject list. */
    group?: string;
    subjects?: string[];
    offset?: number;
    /** Default: everything after `offset`. */
    count?: number;
}

/** On a world benchmark each part is a count of generated items; on a public one, a selection. */
export type PartSpec = number | Selection;

export interface TaskEntry {
    task: string;
    role: TaskRole;
    pool?: PartSpec;
    shots?: PartSpec;
    test?: PartSpec;
    /** World only: extra items of this task that go into the pre-training corpus. */
    pretrain?: number;
    /** How this task's items are scored; default: the benchmark's `scoring`. */
    scoring?: ScoringMode;
}

export interface BenchmarkDefinition {
    format: typeof BENCHMARK_FORMAT;
    formatVersion: typeof BENCHMARK_FORMAT_VERSION;
    name: string;
    /** Bumped whenever the composition changes, so results name the exact benchmark they came from. */
    version: number;
    description: string;
    /** Seeds the subset sampling of public splits (the world has its own seed in `world`). */
    seed: number;
    /** Present on a benchmark built on the generated QA world. */
    world?: WorldOptions;
    subjectGroups?: Record<string, string[]>;
    /** How items are scored unless a task says otherwise; default "letter". */
    scoring?: ScoringMode;
    tasks: TaskEntry[];
}

/** Parts each role must (and may) have. */
const PARTS_OF_ROLE: Record<TaskRole, { required: TaskPart[]; allowed: TaskPart[] }> = {
    pool: { required: ["pool"], allowed: ["pool", "pretrain"] },
    user: { required: ["shots", "test"], allowed: ["shots", "test", "pretrain"] },
    "out-of-scope": { required: ["test"], allowed: ["test", "pretrain"] },
    pretrain: { required: ["pretrain"], allowed: ["pretrain"] },
    server: { required: ["pretrain"], allowed: ["pretrain"] }
};
const PARTS: TaskPart[] = ["pool", "shots", "test", "pretrain"];

/** Checks the parsed JSON of a definition; every complaint names the file and the offending field. */
export function validateDefinition(json: unknown, file: string): BenchmarkDefinition {
    const fail = (what: string): never => {
        throw new CrayonError(`${file}: ${what}`);
    };
    if (typeof json !== "object" || json === null) return fail("expected a JSON object");
    const def = json as Partial<BenchmarkDefinition>;
    if (def.format !== BENCHMARK_FORMAT) fail(`"format" must be "${BENCHMARK_FORMAT}"`);
    if (def.formatVersion !== BENCHMARK_FORMAT_VERSION) fail(`"formatVersion" ${String(def.formatVersion)} is not supported; this Crayon reads version ${BENCHMARK_FORMAT_VERSION}`);
    if (typeof def.name !== "string" || typeof def.description !== "string") fail(`"name" and "description" must be strings`);
    if (!Number.isInteger(def.version) || !Number.isInteger(def.seed)) fail(`"version" and "seed" must be integers`);
    if (def.world !== undefined && !Number.isInteger(def.world.seed)) fail(`"world.seed" must be an integer`);
    const scoringProblem = (value: unknown) => value !== undefined && !SCORING_MODES.includes(value as ScoringMode);
    if (scoringProblem(def.scoring)) fail(`"scoring" must be one of ${SCORING_MODES.join(", ")}`);
    if (!Array.isArray(def.tasks) || def.tasks.length === 0) return fail(`"tasks" must be a non-empty list`);
    const seen = new Set<string>();
    def.tasks.forEach((entry, i) => {
        const where = `tasks[${i}]`;
        if (typeof entry?.task !== "string") fail(`${where}.task must be a string`);
        if (seen.has(entry.task)) fail(`${where}: task "${entry.task}" is listed twice`);
        seen.add(entry.task);
        if (scoringProblem(entry.scoring)) fail(`${where}.scoring must be one of ${SCORING_MODES.join(", ")}`);
        const parts = PARTS_OF_ROLE[entry.role];
        if (parts === undefined) return fail(`${where}.role must be one of ${Object.keys(PARTS_OF_ROLE).join(", ")}`);
        for (const part of PARTS) {
            const spec = entry[part];
            if (spec === undefined) {
                if (parts.required.includes(part)) fail(`${where} (${entry.role} task "${entry.task}") needs "${part}"`);
                continue;
            }
            if (!parts.allowed.includes(part)) fail(`${where}: a ${entry.role} task has no "${part}"`);
            if (def.world !== undefined || part === "pretrain") {
                if (def.world === undefined) fail(`${where}.pretrain: only world benchmarks define a pre-training corpus`);
                if (!Number.isInteger(spec) || (spec as number) < 0) fail(`${where}.${part} must be a count of world items`);
            } else validateSelection(spec, `${where}.${part}`, def.subjectGroups, fail);
        }
    });
    return def as BenchmarkDefinition;
}

function validateSelection(spec: PartSpec, where: string, groups: Record<string, string[]> | undefined, fail: (what: string) => never): void {
    if (typeof spec !== "object" || typeof spec.dataset !== "string" || typeof spec.split !== "string") {
        fail(`${where} must be {"dataset", "split", …}`);
    }
    const selection = spec as Selection;
    if (selection.group !== undefined && groups?.[selection.group] === undefined) fail(`${where}.group "${selection.group}" is not in "subjectGroups"`);
    for (const key of ["offset", "count"] as const) {
        const value = selection[key];
        if (value !== undefined && (!Number.isInteger(value) || value < 0)) fail(`${where}.${key} must be a non-negative integer`);
    }
}
