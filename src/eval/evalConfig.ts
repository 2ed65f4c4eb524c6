import path from "node:path";
import type { Benchmark } from "../data/benchmark/types.js";
import { sha256File } from "../pool/fingerprint.js";
import type { LoadedPool } from "../pool/loadPool.js";
import { MANIFEST_FILE } from "../pool/poolFiles.js";
import { crayonVersion } from "../version.js";
import { CPT_GAP_FRACTION } from "./routingCurve.js";
import { ROUTING_QUERIES_RULE } from "./taskRouting.js";
import { SWEPT_POLICIES, type EvalConfig, type EvalOptions } from "./types.js";

/** Top alternatives asked of a spawned `crayon serve`: its maximum, the whole vocabulary of the shipped models. */
const SPAWNED_TOP_LOGPROBS = 1000;
/** What OpenAI itself allows; a server given by URL may refuse more. */
const URL_TOP_LOGPROBS = 20;

/**
 * The exact configuration of a run for results.json: the files by sha256 (the device model's is the one
 * the pool checked), every setting, and how each routing number is defined.
 */
export async function evalConfig(options: EvalOptions, benchmark: Benchmark, pool: LoadedPool, serverModelId: string): Promise<EvalConfig> {
    const { server } = options;
    const spawned = "modelPath" in server;
    return {
        crayon: crayonVersion(),
        benchmark: { name: benchmark.name, version: benchmark.version, file: path.basename(benchmark.file), sha256: await sha256File(benchmark.file) },
        deviceModel: { path: options.modelPath, sha256: pool.manifest.baseModel.sha256 },
        pool: { dir: options.poolDir, name: pool.manifest.name, adapters: pool.manifest.adapters.length, manifestSha256: await sha256File(path.join(pool.dir, MANIFEST_FILE)) },
        server: spawned
            ? { kind: "spawned", model: { path: server.modelPath, sha256: await sha256File(server.modelPath) }, modelId: serverModelId }
            : { kind: "url", url: server.url, modelId: serverModelId },
        methods: options.methods,
        hybridMethod: options.hybridMethod,
        kShot: options.kShot,
        seed: options.seed,
        combine: "concat",
        lorahubBudget: options.lorahubBudget,
        threads: options.threads,
        topLogprobs: options.topLogprobs ?? (spawned ? SPAWNED_TOP_LOGPROBS : URL_TOP_LOGPROBS),
        routing: {
            policies: [...SWEPT_POLICIES],
            queries: ROUTING_QUERIES_RULE,
            scope: "max cosine similarity of the query's prompt to the task's k examples, embedded on the device by the pool's embedder",
            sweep: "for each target share i/n (n queries) the router's calibration sets the threshold(s) and the router's rule routes each query; a repeated realised share keeps its first point; the ends are device-only (0) and server-only (1)",
            auc: "trapezoid rule over the server share in [0, 1]",
            apgr: "(AUC - device accuracy) / (server accuracy - device accuracy); null when the two are equal",
            cpt50: `the smallest server share among the curve's points whose accuracy reaches device + ${CPT_GAP_FRACTION} x (server - device); points only, no interpolation`,
            overall: "per policy the mean of the tasks' curves, each read linearly at every share any task has a point at; AUC, APGR and CPT(50%) of that mean curve"
        }
    };
}
