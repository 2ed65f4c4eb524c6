import { mkdir } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadBenchmark } from "../data/benchmark/loadBenchmark.js";
import { promptText } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel } from "../gguf/validate.js";
import { TaskScope } from "../hybrid/taskScope.js";
import { disposeWeights } from "../model/weights.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../model/modelFile.js";
import { createHiddenStateEmbedder } from "../pool/hiddenStateEmbedder.js";
import { loadPool } from "../pool/loadPool.js";
import { LlamaRuntime } from "../runtime/llama.js";
import { ServerClient } from "../runtime/serverClient.js";
import { setupEngine } from "../train/engine/backend.js";
import { runOracle, runTaskMethod, type DeviceSetup, type TaskMethodRun } from "./deviceMethods.js";
import { DeviceScorer } from "./deviceScorer.js";
import { fitsContexts } from "./contextFit.js";
import { evalConfig } from "./evalConfig.js";
import { evalPlan, type EvalPlan } from "./evalPlan.js";
import { memoizedEmbed } from "./memoizedEmbedder.js";
import { pairedDifference } from "./pairedDifference.js";
import { ProgressCounter, StageClock } from "./progress.js";
import { accuracyOf, scoredItem, type ScoredItem } from "./scoredItem.js";
import { startServerProcess, type ServerProcess } from "./serverProcess.js";
import { overallRouting, routingRecords, routingResult } from "./taskRouting.js";
import type { EvalMethod, EvalOptions, EvalResults, MethodComparison, MethodResult, TaskResult } from "./types.js";

/**
 * The customization benchmark: per user task, blend the pool from k examples with each method and score
 * the task's test items on the device; score them on the server; then sweep the routing policies over the
 * task's test items mixed with out-of-scope queries. Inputs are all checked before a server is started or
 * anything is written. The server answers in its own process while the device works, so the two use a core each.
 */
export async function runEval(options: EvalOptions): Promise<EvalResults> {
    const startedAt = new Date();
    const clock = new StageClock();
    const benchmark = await loadBenchmark(options.benchmark, { dataDir: options.dataDir, scoring: options.scoring });
    if (benchmark.userTasks.length === 0) throw new CrayonError(`${benchmark.file}: the benchmark has no user tasks to evaluate`);
    if (benchmark.outOfScope.length === 0) throw new CrayonError(`${benchmark.file}: the benchmark has no out-of-scope queries, which the routing evaluation needs`);
    const pool = await loadPool(options.poolDir, { baseModelPath: options.modelPath });
    const serverModelPath = "modelPath" in options.server ? options.server.modelPath : undefined;
    const serverContextSize = serverModelPath === undefined ? undefined : validateLlamaModel(await readGguf(serverModelPath)).contextLength;

    const runtime = await LlamaRuntime.create({ threads: options.threads });
    let server: ServerProcess | undefined;
    let embeddingModel: LoadedLlamaModel | undefined;
    try {
        const model = await runtime.loadModel(options.modelPath);
        const serverVocabulary = serverModelPath === undefined ? undefined : await runtime.loadModel(serverModelPath, { vocabOnly: true });
        const contexts = [{ tokenizer: model, contextSize: model.trainContextSize }];
        if (serverVocabulary !== undefined) contexts.push({ tokenizer: serverVocabulary, contextSize: serverContextSize! });
        const plan = evalPlan(benchmark, pool, options, fitsContexts(contexts));
        await serverVocabulary?.dispose();
        const progress = new ProgressCounter(plan.totalUnits, options.onProgress);
        await mkdir(path.join(options.out, "adapters"), { recursive: true });
        clock.end("load");

        progress.stage("starting the server");
        const apiKey = "apiKey" in options.server ? options.server.apiKey : undefined;
        server = serverModelPath === undefined ? undefined : await startServerProcess(serverModelPath, { threads: options.threads });
        const baseUrl = server?.baseUrl ?? ("url" in options.server ? options.server.url.replace(/\/+$/, "") : "");
        const modelId = server?.modelId ?? (await servedModelId(baseUrl, apiKey));
        const config = await evalConfig(options, benchmark, pool, modelId);
        const client = new ServerClient({ baseUrl, model: modelId, apiKey, topLogprobs: config.topLogprobs });
        clock.end("server start");
        const serverScoring = scoreOnServer(client, plan, progress);
        serverScoring.catch(() => undefined); // awaited below; a failure must not go unhandled while the device works

        progress.stage("loading the embedder");
        // one batched tfjs pass embeds many texts at once, as the pool was built; llama.cpp would need one evaluation per token for mean pooling
        await setupEngine();
        embeddingModel = await loadLlamaModel(options.modelPath);
        const embedder = createHiddenStateEmbedder(embeddingModel, model, { pooling: pool.manifest.embedder.pooling, modelSha256: config.deviceModel.sha256 });
        const embedTexts = memoizedEmbed(embedder, (count) => progress.advance(count));
        const setup: DeviceSetup = {
            runtime, model, modelPath: options.modelPath, base: await readGguf(options.modelPath), pool,
            device: new DeviceScorer(runtime, model, options.modelPath),
            embed: (items) => embedTexts(items.map(embedder.itemText)),
            out: options.out, lorahubBudget: options.lorahubBudget, seed: options.seed, progress
        };
        clock.end("device model");
        progress.stage("embedding examples and queries");
        await embedTexts(plan.tasks.flatMap((t) => [...t.shots, ...t.routingQueries.map((q) => q.item)]).map(promptText));
        clock.end("embedding");

        const runs: Array<Partial<Record<EvalMethod, TaskMethodRun>>> = [];
        for (const task of plan.tasks) {
            const byMethod: Partial<Record<EvalMethod, TaskMethodRun>> = {};
            for (const method of options.methods) if (method !== "oracle") byMethod[method] = await runTaskMethod(setup, task, method);
            runs.push(byMethod);
        }
        clock.end("blend and device scoring");
        const oracle = options.methods.includes("oracle") ? await runOracle(setup, plan.tasks) : undefined;
        clock.end("oracle scoring");

        // routing: the hybrid method's adapter on each task's out-of-scope queries, and every query's scope
        const outOfScopeDevice: ScoredItem[][] = [];
        const scopes: number[][] = [];
        for (const [t, task] of plan.tasks.entries()) {
            progress.stage(`${task.task}: out-of-scope queries on the device`);
            outOfScopeDevice.push(await setup.device.score(runs[t]![options.hybridMethod]!.adapters, task.outOfScope, () => progress.advance()));
            const scope = await TaskScope.fromExamples(embedTexts, task.shots, "max");
            const similarities: number[] = [];
            for (const { item } of task.routingQueries) similarities.push(await scope.similarity(promptText(item)));
            scopes.push(similarities);
        }
        clock.end("out-of-scope device scoring");
        progress.stage("waiting for the server");
        const { scores: serverScores, seconds: serverSeconds } = await serverScoring;
        clock.end("waiting for the server");

        const tasks = plan.tasks.map((task, t): TaskResult => {
            const server = task.routingQueries.map(({ item }) => serverScores.get(item.id)!);
            const records = routingRecords(task.routingQueries, [...runs[t]![options.hybridMethod]!.scored, ...outOfScopeDevice[t]!], server, scopes[t]!);
            const serverOnTest = server.slice(0, task.userTask.test.length);
            const methods: Partial<Record<EvalMethod, MethodResult>> = {};
            for (const method of options.methods) methods[method] = method === "oracle" ? oracle![t]! : runs[t]![method]!.result;
            return {
                task: task.task,
                shotIds: task.shots.map((item) => item.id),
                testIds: task.userTask.test.map((item) => item.id),
                methods,
                server: { accuracy: accuracyOf(serverOnTest), correct: serverOnTest.filter((s) => s.correct).length, choices: serverOnTest.map((s) => s.choice) },
                outOfScopeDeviceAccuracy: accuracyOf(outOfScopeDevice[t]!),
                tooLong: task.tooLong,
                routing: { ...routingResult(records), records }
            };
        });
        const outOfScopeServer = plan.outOfScopeItems.map((item) => serverScores.get(item.id)!);
        const results: EvalResults = {
            format: "crayon-eval",
            formatVersion: 1,
            config,
            tasks,
            summary: {
                methods: Object.fromEntries(options.methods.map((m) => [m, mean(tasks.map((t) => t.methods[m]!.accuracy))])),
                comparisons: methodComparisons(plan, tasks, options.methods, config.seed),
                server: mean(tasks.map((t) => t.server.accuracy)),
                outOfScope: { queries: outOfScopeServer.length, tooLong: plan.outOfScopeTooLong, serverAccuracy: accuracyOf(outOfScopeServer), deviceAccuracy: mean(tasks.map((t) => t.outOfScopeDeviceAccuracy)) },
                routing: overallRouting(tasks.map((t) => t.routing))
            },
            timings: { startedAt: startedAt.toISOString(), stages: clock.stages, serverScoringSeconds: serverSeconds, totalSeconds: 0, out: options.out, serverUrl: baseUrl }
        };
        clock.end("metrics");
        results.timings.totalSeconds = (Date.now() - startedAt.getTime()) / 1000;
        return results;
    } finally {
        if (embeddingModel !== undefined) disposeWeights(embeddingModel.weights);
        await server?.stop();
        await runtime.dispose();
    }
}

/** Every distinct query on the server by id, one request at a time, and the seconds that took. */
async function scoreOnServer(client: ServerClient, plan: EvalPlan, progress: ProgressCounter): Promise<{ scores: Map<string, ScoredItem>; seconds: number }> {
    const start = performance.now();
    const scores = new Map<string, ScoredItem>();
    for (const item of plan.serverItems) {
        scores.set(item.id, scoredItem(item, await client.scoreItem(item)));
        progress.advance();
    }
    return { scores, seconds: (performance.now() - start) / 1000 };
}

/** Each method against the base model, and crayon against uniform: the comparisons the blend is judged by. */
function methodComparisons(plan: EvalPlan, tasks: readonly TaskResult[], methods: readonly EvalMethod[], seed: number): MethodComparison[] {
    const pairs: [EvalMethod, EvalMethod][] = methods.filter((m) => m !== "base" && methods.includes("base")).map((m) => [m, "base"]);
    if (methods.includes("crayon") && methods.includes("uniform")) pairs.push(["crayon", "uniform"]);
    const right = (method: EvalMethod) => tasks.map((task, t) => task.methods[method]!.choices.map((choice, i) => choice === plan.tasks[t]!.userTask.test[i]!.answer));
    return pairs.map(([method, against]) => ({ method, against, ...pairedDifference(right(method), right(against), { seed: `${seed}:${method}:${against}` }) }));
}

function mean(values: readonly number[]): number {
    return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** The model id of a server given by URL: the first one its /models lists. */
async function servedModelId(baseUrl: string, apiKey: string | undefined): Promise<string> {
    const response = await fetch(`${baseUrl}/models`, { headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {}, signal: AbortSignal.timeout(30_000) }).catch((error: Error) => {
        throw new CrayonError(`--server-url ${baseUrl}: unreachable (${(error.cause as Error | undefined)?.message ?? error.message}); give a running server's OpenAI base URL, ending in /v1`);
    });
    const id = response.ok ? ((await response.json()) as { data?: Array<{ id?: unknown }> }).data?.[0]?.id : undefined;
    if (typeof id !== "string") throw new CrayonError(`--server-url ${baseUrl}: GET /models gave no model id (HTTP ${response.status}); give a running server's OpenAI base URL, ending in /v1`);
    return id;
}
