import type { ScoringMode } from "../data/prompt.js";
import type { BlendMethod } from "../blend/types.js";
import { STRENGTH_GRID, type BlendStrength, type StrengthChoice } from "../blend/weights/blendStrength.js";
import type { RoutingPolicy } from "../hybrid/policy.js";
import type { PairedDifference } from "./pairedDifference.js";
import type { PolicyRouting } from "./routingCurve.js";

/**
 * What `crayon eval` compares on the device: the base model, each blend method, crayon at the strength its
 * examples' few-shot loss chooses (`crayon blend --strength auto`), and the oracle adapter.
 */
export const EVAL_METHODS = ["base", "uniform", "top1", "topk", "crayon", "crayon-strength", "lorahub", "oracle"] as const;
export type EvalMethod = (typeof EVAL_METHODS)[number];
export const DEFAULT_EVAL_METHODS: EvalMethod[] = ["base", "uniform", "top1", "crayon", "crayon-strength", "lorahub", "oracle"];

/** The policies whose threshold the eval sweeps (device-only and server-only are the curves' ends). */
export const SWEPT_POLICIES = ["confidence", "scope", "confidence+scope"] as const satisfies readonly RoutingPolicy[];
export type SweptPolicy = (typeof SWEPT_POLICIES)[number];

/** The eval methods that blend the pool from the task's examples. */
export function isBlendMethod(method: EvalMethod): method is Exclude<EvalMethod, "base" | "oracle"> {
    return method !== "base" && method !== "oracle";
}

/** The blend method and strength an eval blend method runs `blendAdapters` with. */
export function blendSettings(method: Exclude<EvalMethod, "base" | "oracle">): { method: BlendMethod; strength: BlendStrength } {
    return method === "crayon-strength" ? { method: "crayon", strength: "auto" } : { method, strength: 1 };
}

/** Few-shot loss evaluations of one blend: lorahub's budget, one per grid strength for strength auto, else none. */
export function blendLossEvaluations(method: Exclude<EvalMethod, "base" | "oracle">, lorahubBudget: number): number {
    if (method === "lorahub") return lorahubBudget;
    return blendSettings(method).strength === "auto" ? STRENGTH_GRID.length : 0;
}

/** Where the server model runs: a `crayon serve` child process started by the eval, or a running server. */
export type ServerSpec = { modelPath: string } | { url: string; apiKey?: string };

export interface EvalOptions {
    /** a shipped benchmark name (`world`, `crayon-qa`) or a definition file */
    benchmark: string;
    /** folder of the public datasets, for benchmarks that read them */
    dataDir?: string;
    /** scores every item this way instead of as the benchmark names for each task */
    scoring?: ScoringMode;
    /** the device base model the pool was built for */
    modelPath: string;
    poolDir: string;
    server: ServerSpec;
    methods: EvalMethod[];
    /** the device method the hybrid router customizes with (never oracle: it needs the test labels) */
    hybridMethod: Exclude<EvalMethod, "oracle">;
    /** user examples drawn per task from its shot candidates */
    kShot: number;
    /** seeds the shot draw, the out-of-scope draw and lorahub's search */
    seed: number;
    /** lorahub: few-shot loss evaluations per blend */
    lorahubBudget: number;
    /** llama.cpp threads, on the device and for a spawned server */
    threads: number;
    /** alternatives the server is asked for at the answer position; default: 1000 for a spawned server, 20 for a URL */
    topLogprobs?: number;
    /** the run's folder: blended adapters are written to `<out>/adapters`, finished tasks to its partial results */
    out: string;
    /** continue the stopped run in `out` from its partial results; its configuration must be the same */
    resume?: boolean;
    /** aborted: the partial results are written at once (synchronously), so the process may exit right after */
    signal?: AbortSignal;
    onProgress?: (progress: EvalProgress) => void;
}

export interface EvalProgress {
    stage: string;
    /** work done and planned, each kind weighted by its cost (`WORK_MILLISECONDS`): items scored or embedded, blends, loss evaluations */
    done: number;
    total: number;
}

/** A file the results depend on: its path as given and its sha256. */
export interface HashedFile {
    path: string;
    sha256: string;
}

/** The exact configuration: with the same files and seed, the same numbers come out. */
export interface EvalConfig {
    crayon: string;
    benchmark: { name: string; version: number; file: string; sha256: string };
    deviceModel: HashedFile;
    pool: { dir: string; name: string; adapters: number; manifestSha256: string };
    server: { kind: "spawned"; model: HashedFile; modelId: string } | { kind: "url"; url: string; modelId: string };
    methods: EvalMethod[];
    hybridMethod: EvalMethod;
    kShot: number;
    seed: number;
    combine: "concat";
    lorahubBudget: number;
    threads: number;
    topLogprobs: number;
    routing: {
        policies: SweptPolicy[];
        /** how each task's routing set is made */
        queries: string;
        scope: string;
        sweep: string;
        auc: string;
        apgr: string;
        cpt50: string;
        overall: string;
    };
}

export interface MethodResult {
    accuracy: number;
    correct: number;
    /** the chosen option per test item, in the order of the task's `testIds` */
    choices: number[];
    /** the probability of each chosen option, same order */
    confidences: number[];
    /** blend methods: the blend's weights (one per pool adapter, manifest order) and the adapter written */
    blend?: { weights: number[]; adapter: string; sha256: string; search?: { evaluations: number; startLoss: number; loss: number }; strength?: StrengthChoice };
    /** oracle: the single pool adapter with the best test accuracy — an upper reference, it reads the test labels */
    oracle?: { adapterId: string; accuracyByAdapter: Record<string, number> };
}

/** One query of a task's routing set, with everything the curves are computed from. */
export interface RoutingQueryRecord {
    id: string;
    inScope: boolean;
    deviceChoice: number;
    deviceConfidence: number;
    deviceCorrect: boolean;
    /** cosine similarity of the query to the task's k examples (max over examples) */
    scope: number;
    serverChoice: number;
    serverConfidence: number;
    serverCorrect: boolean;
}

export interface RoutingResult {
    queries: number;
    deviceAccuracy: number;
    serverAccuracy: number;
    policies: Record<SweptPolicy, PolicyRouting>;
}

export interface TaskResult {
    task: string;
    shotIds: string[];
    testIds: string[];
    methods: Partial<Record<EvalMethod, MethodResult>>;
    /** the server model on the task's test items */
    server: { accuracy: number; correct: number; choices: number[] };
    /** the hybrid method's adapter on the out-of-scope queries of this task's routing set */
    outOfScopeDeviceAccuracy: number;
    /** shot candidates and test items left out: their prompt is longer than a model's context */
    tooLong: { shots: number; test: number };
    routing: RoutingResult & { records: RoutingQueryRecord[] };
}

export interface EvalResults {
    format: "crayon-eval";
    formatVersion: 1;
    config: EvalConfig;
    tasks: TaskResult[];
    /** macro means over the tasks */
    summary: {
        methods: Partial<Record<EvalMethod, number>>;
        /** each method against the base model (and crayon against uniform): paired on the same test items, with a bootstrap 95% interval */
        comparisons: MethodComparison[];
        server: number;
        outOfScope: { queries: number; tooLong: number; serverAccuracy: number; deviceAccuracy: number };
        routing: RoutingResult;
    };
    /** wall-clock only: everything outside this key is the same for the same configuration and seed */
    timings: EvalTimings;
}

export interface MethodComparison extends PairedDifference {
    method: EvalMethod;
    against: EvalMethod;
}

export interface EvalTimings {
    startedAt: string;
    /** seconds per stage of the device side, in order */
    stages: Record<string, number>;
    /** seconds the server took for its queries, concurrently with the device stages */
    serverScoringSeconds: number;
    totalSeconds: number;
    out: string;
    serverUrl: string;
    /** a resumed run: the tasks and server scores it took from the stopped run */
    resumed?: { tasks: number; serverItems: number };
}
