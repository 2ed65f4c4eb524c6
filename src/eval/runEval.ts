import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadBenchmark } from "../data/benchmark/loadBenchmark.js";
import { promptText } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel } from "../gguf/validate.js";
import { TaskScope, type EmbedTexts } from "../hybrid/taskScope.js";
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
import { evalPlan, taskWork, type EvalPlan, type TaskPlan } from "./evalPlan.js";
import { memoizedEmbed } from "./memoizedEmbedder.js";
import { pairedDifference } from "./pairedDifference.js";
import { checkSameRun, configSha256, partialResultsPath, readPartialResults, writePartialResults, type FinishedTask, type PartialResults } from "./partialResults.js";
import { addWork, ProgressCounter, StageClock } from "./progress.js";
import { accuracyOf, scoredItem, type ScoredItem } from "./scoredItem.js";
import { spawnedModelId, startServerProcess, type ServerProcess } from "./serverProcess.js";
import { overallRouting, routingRecords, routingResult } from "./taskRouting.js";
import type { EvalMethod, EvalOptions, EvalResults, MethodComparison, MethodResult, TaskResult } from "./types.js";

/**
 * The customization benchmark: per user task, blend the pool from k examples with each method and score
 * the task's test items on the device; score them on the server; then sweep the routing policies over the
 * task's test items mixed with out-of-scope queries. Inputs are all checked before a server is started or
 * anything is written. The server answers in its own process while the device works, so the two use a core each.
 * Each finished task and the server's scores so far are kept in the run's partial results, which `resume`
 * continues from; `signal` writes them at once.
 */
export async function runEval(options: EvalOptions): Promise<EvalResults> {
    const startedAt = new Date();
    const clock = new StageClock();
    const stopped = options.resume ? readPartialResults(options.out) : undefined;
    if (!options.resume && existsSync(partialResultsPath(options.out))) {
        throw new CrayonError(`--out ${options.out} holds a stopped run; add --resume to continue it, or choose another --out`);
    }
    const benchmark = await loadBenchmark(options.benchmark, { dataDir: options.dataDir, scoring: options.scoring });
    if (benchmark.userTasks.length === 0) throw new CrayonError(`${benchmark.file}: the benchmark has no user tasks to evaluate`);
    if (benchmark.outOfScope.length === 0) throw new CrayonError(`${benchmark.file}: the benchmark has no out-of-scope queries, which the routing evaluation needs`);
    const pool = await loadPool(options.poolDir, { baseModelPath: options.modelPath });
    const serverModelPath = "modelPath" in options.server ? options.server.modelPath : undefined;
    const serverContextSize = serverModelPath === undefined ? undefined : validateLlamaModel(await readGguf(serverModelPath)).contextLength;

    const runtime = await LlamaRuntime.create({ threads: options.threads });
    let server: ServerProcess | undefined;
    let embeddingModel: LoadedLlamaModel | undefined;
    let savePartial = () => {}; // nothing to keep before the configuration is known
    const savePartialOnAbort = () => savePartial();
    options.signal?.addEventListener("abort", savePartialOnAbort, { once: true });
    try {
        const model = await runtime.loadModel(options.modelPath);
        const serverVocabulary = serverModelPath === undefined ? undefined : await runtime.loadModel(serverModelPath, { vocabOnly: true });
        const contexts = [{ tokenizer: model, contextSize: model.trainContextSize }];
        if (serverVocabulary !== undefined) contexts.push({ tokenizer: serverVocabulary, contextSize: serverContextSize! });
        const plan = evalPlan(benchmark, pool, options, fitsContexts(contexts));
        await serverVocabulary?.dispose();
        const progress = new ProgressCounter(plan.work, options.onProgress);
        await mkdir(path.join(options.out, "adapters"), { recursive: true });
        clock.end("load");

        const apiKey = "apiKey" in options.server ? options.server.apiKey : undefined;
        const givenUrl = "url" in options.server ? options.server.url.replace(/\/+$/, "") : undefined;
        const modelId = serverModelPath === undefined ? await servedModelId(givenUrl!, apiKey) : spawnedModelId(serverModelPath);
        const config = await evalConfig(options, benchmark, pool, modelId);
        const runSha256 = configSha256(config, options.scoring);
        if (stopped !== undefined) checkSameRun(stopped, runSha256, options.out); // before the server starts or the progress shows

        progress.stage(serverModelPath === undefined ? "connecting to the server" : "starting the server");
        server = serverModelPath === undefined ? undefined : await startServerProcess(serverModelPath, { threads: options.threads });
        const baseUrl = server?.baseUrl ?? givenUrl!;
        const finished: FinishedTask[] = [...(stopped?.tasks ?? [])];
        const serverScores = new Map((stopped?.serverScores ?? []).map((scored) => [scored.id, scored]));
        const partial = (): PartialResults => ({ format: "crayon-eval-partial", configSha256: runSha256, tasks: finished, serverScores: [...serverScores.values()] });
        savePartial = () => writePartialResults(options.out, partial());
        progress.skip(addWork(...plan.tasks.slice(0, finished.length).map((task) => taskWork(task, options, pool.adapterPaths.length)), { serverItem: serverScores.size }));
        const client = new ServerClient({ baseUrl, model: modelId, apiKey, topLogprobs: config.topLogprobs });
        clock.end("server start");
        const serverScoring = scoreOnServer(client, plan, serverScores, progress);
        serverScoring.catch(() => undefined); // awaited below; a failure must not go unhandled while the device works

        progress.stage("loading the embedder");
        // one batched tfjs pass embeds many texts at once, as the pool was built; llama.cpp would need one evaluation per token for mean pooling
        await setupEngine();
        embeddingModel = await loadLlamaModel(options.modelPath);
        const embedder = createHiddenStateEmbedder(embeddingModel, model, { pooling: pool.manifest.embedder.pooling, modelSha256: config.deviceModel.sha256 });
        const embedTexts = memoizedEmbed(embedder, (count) => progress.advance("embedding", count));
        const setup: DeviceSetup = {
            runtime, model, modelPath: options.modelPath, base: await readGguf(options.modelPath), pool,
            device: new DeviceScorer(runtime, model, options.modelPath),
            embed: (items) => embedTexts(items.map(embedder.itemText)),
            out: options.out, lorahubBudget: options.lorahubBudget, seed: options.seed, progress
        };
        clock.end("device model");
        progress.stage("embedding examples and queries");
        // all tasks' texts in one call even when resuming: the same batches give the same vectors, bit for bit
        await embedTexts(plan.tasks.flatMap((t) => [...t.shots, ...t.routingQueries.map((q) => q.item)]).map(promptText));
        clock.end("embedding");

        for (const task of plan.tasks.slice(finished.length)) {
            finished.push(await runTask(setup, task, options, embedTexts, clock));
            savePartial();
        }
        progress.stage("waiting for the server");
        const serverSeconds = await serverScoring;
        clock.end("waiting for the server");

        const tasks = plan.tasks.map((task, t): TaskResult => {
            const server = task.routingQueries.map(({ item }) => serverScores.get(item.id)!);
            const { methods, hybridScored, scopes } = finished[t]!;
            const records = routingRecords(task.routingQueries, hybridScored, server, scopes);
            const serverOnTest = server.slice(0, task.userTask.test.length);
            return {
                task: task.task,
                shotIds: task.shots.map((item) => item.id),
                testIds: task.userTask.test.map((item) => item.id),
                methods,
                server: { accuracy: accuracyOf(serverOnTest), correct: serverOnTest.filter((s) => s.correct).length, choices: serverOnTest.map((s) => s.choice) },
                outOfScopeDeviceAccuracy: accuracyOf(hybridScored.slice(task.userTask.test.length)),
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
            timings: {
                startedAt: startedAt.toISOString(), stages: clock.stages, serverScoringSeconds: serverSeconds, totalSeconds: 0, out: options.out, serverUrl: baseUrl,
                ...(stopped === undefined ? {} : { resumed: { tasks: stopped.tasks.length, serverItems: stopped.serverScores.length } })
            }
        };
        clock.end("metrics");
        results.timings.totalSeconds = (Date.now() - startedAt.getTime()) / 1000;
        return results;
    } finally {
        options.signal?.removeEventListener("abort", savePartialOnAbort);
        if (embeddingModel !== undefined) disposeWeights(embeddingModel.weights);
        await server?.stop();
        await runtime.dispose();
    }
}

/**
 * One task's device work: each method (a blend of the k examples, scored on the test items), the oracle's
 * adapters, and the hybrid method's adapter on the out-of-scope queries with every routing query's scope.
 */
async function runTask(setup: DeviceSetup, task: TaskPlan, options: EvalOptions, embedTexts: EmbedTexts, clock: StageClock): Promise<FinishedTask> {
    const { progress } = setup;
    const runs: Partial<Record<EvalMethod, TaskMethodRun>> = {};
    for (const method of options.methods) if (method !== "oracle") runs[method] = await runTaskMethod(setup, task, method);
    clock.end("blend and device scoring");
    const methods: Partial<Record<EvalMethod, MethodResult>> = {};
    for (const method of options.methods) methods[method] = method === "oracle" ? (await runOracle(setup, [task]))[0]! : runs[method]!.result;
    clock.end("oracle scoring");

    const hybrid = runs[options.hybridMethod]!;
    progress.stage(`${task.task}: out-of-scope queries on the device`);
    const outOfScope = await setup.device.score(hybrid.adapters, task.outOfScope, () => progress.advance("deviceItem"));
    const scope = await TaskScope.fromExamples(embedTexts, task.shots, "max");
    const scopes: number[] = [];
    for (const { item } of task.routingQueries) scopes.push(await scope.similarity(promptText(item)));
    clock.end("out-of-scope device scoring");
    return { task: task.task, methods, hybridScored: [...hybrid.scored, ...outOfScope], scopes };
}

/** Every distinct query not yet in `scores` on the server, one request at a time; the seconds that took. */
async function scoreOnServer(client: ServerClient, plan: EvalPlan, scores: Map<string, ScoredItem>, progress: ProgressCounter): Promise<number> {
    const start = performance.now();
    for (const item of plan.serverItems) {
        if (scores.has(item.id)) continue;
        scores.set(item.id, scoredItem(item, await client.scoreItem(item)));
        progress.advance("serverItem");
    }
    return (performance.now() - start) / 1000;
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
