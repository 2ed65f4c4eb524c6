import { drawShots } from "../data/benchmark/drawShots.js";
import type { Benchmark, UserTask } from "../data/benchmark/types.js";
import type { QaItem } from "../data/item.js";
import { promptText } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import type { LoadedPool } from "../pool/loadPool.js";
import { drawOutOfScope } from "./taskRouting.js";
import { addWork, type Work } from "./progress.js";
import { blendLossEvaluations, isBlendMethod, type EvalOptions } from "./types.js";

/** One user task as the eval runs it. */
export interface TaskPlan {
    task: string;
    userTask: UserTask;
    /** the k examples the user brings */
    shots: QaItem[];
    /** the out-of-scope half of the routing set */
    outOfScope: QaItem[];
    /** the routing set: the test items, then the out-of-scope queries */
    routingQueries: { item: QaItem; inScope: boolean }[];
    /** shot candidates and test items left out because their prompt does not fit a model's context */
    tooLong: { shots: number; test: number };
}

export interface EvalPlan {
    tasks: TaskPlan[];
    /** every distinct query the server answers: all test items and the out-of-scope ones drawn */
    serverItems: QaItem[];
    /** the distinct out-of-scope queries among them */
    outOfScopeItems: QaItem[];
    /** out-of-scope queries left out because their prompt does not fit a model's context */
    outOfScopeTooLong: number;
    /** the whole run's work: texts embedded, blends, loss evaluations, items scored on the device and on the server */
    work: Work;
}

/**
 * Draws each task's shots and out-of-scope queries, checks the options against the data, and sizes the
 * work. Items whose prompt does not `fit` the models' context (long passages of public data on a small
 * model) are left out of every part before anything is drawn, and counted.
 */
export function evalPlan(benchmark: Benchmark, pool: LoadedPool, options: EvalOptions, fits: (item: QaItem) => boolean): EvalPlan {
    if (!options.methods.includes(options.hybridMethod)) {
        throw new CrayonError(`--hybrid-method ${options.hybridMethod} must be one of the evaluated --methods other than oracle (${options.methods.join(",")})`);
    }
    const allOutOfScope = benchmark.outOfScope.filter(fits);
    if (allOutOfScope.length === 0) throw new CrayonError(`${benchmark.file}: no out-of-scope query fits the models' context`);
    const tasks = benchmark.userTasks.map((given): TaskPlan => {
        const userTask = { task: given.task, shots: given.shots.filter(fits), test: given.test.filter(fits) };
        if (userTask.test.length === 0) throw new CrayonError(`${benchmark.file}: no test item of ${given.task} fits the models' context`);
        const shots = drawShots(userTask, options.kShot, options.seed);
        const outOfScope = drawOutOfScope(allOutOfScope, userTask.task, userTask.test.length, options.seed);
        return {
            task: userTask.task,
            userTask,
            shots,
            outOfScope,
            routingQueries: [...userTask.test.map((item) => ({ item, inScope: true })), ...outOfScope.map((item) => ({ item, inScope: false }))],
            tooLong: { shots: given.shots.length - userTask.shots.length, test: given.test.length - userTask.test.length }
        };
    });
    const distinct = (items: QaItem[]) => [...new Map(items.map((item) => [item.id, item] as const)).values()];
    const serverItems = distinct(tasks.flatMap((t) => t.routingQueries.map(({ item }) => item)));
    const outOfScopeItems = distinct(tasks.flatMap((t) => t.outOfScope));

    // embedded once each: the shots and every routing query's prompt (the memoized embedder skips repeats)
    const embedded = new Set(tasks.flatMap((t) => [...t.shots, ...t.routingQueries.map((q) => q.item)]).map(promptText)).size;
    const work = addWork(...tasks.map((task) => taskWork(task, options, pool.adapterPaths.length)), { embedding: embedded, serverItem: serverItems.length });
    return { tasks, serverItems, outOfScopeItems, outOfScopeTooLong: benchmark.outOfScope.length - allOutOfScope.length, work };
}

/** One task's device work: each method's blend and loss evaluations, its test items under each method and each oracle adapter, its out-of-scope queries. */
export function taskWork(task: TaskPlan, options: EvalOptions, poolAdapters: number): Work {
    const blendMethods = options.methods.filter(isBlendMethod);
    const deviceMethods = options.methods.filter((m) => m !== "oracle").length;
    const oracleAdapters = options.methods.includes("oracle") ? poolAdapters : 0;
    return {
        blend: blendMethods.filter((m) => m !== "lorahub").length,
        lossEvaluation: blendMethods.reduce((sum, m) => sum + blendLossEvaluations(m, options.lorahubBudget), 0),
        deviceItem: task.userTask.test.length * (deviceMethods + oracleAdapters) + task.outOfScope.length
    };
}
