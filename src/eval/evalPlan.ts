import { drawShots } from "../data/benchmark/drawShots.js";
import type { Benchmark, UserTask } from "../data/benchmark/types.js";
import type { QaItem } from "../data/item.js";
import { formatPrompt } from "../data/prompt.js";
import { CrayonError } from "../errors.js";
import type { LoadedPool } from "../pool/loadPool.js";
import { drawOutOfScope } from "./taskRouting.js";
import { isBlendMethod, type EvalOptions } from "./types.js";

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
}

export interface EvalPlan {
    tasks: TaskPlan[];
    /** every distinct query the server answers: all test items and the out-of-scope ones drawn */
    serverItems: QaItem[];
    /** the distinct out-of-scope queries among them */
    outOfScopeItems: QaItem[];
    /** progress units: items scored or embedded, blends, lorahub evaluations */
    totalUnits: number;
}

/** Draws each task's shots and out-of-scope queries, checks the options against the data, and sizes the work. */
export function evalPlan(benchmark: Benchmark, pool: LoadedPool, options: EvalOptions): EvalPlan {
    if (!options.methods.includes(options.hybridMethod)) {
        throw new CrayonError(`--hybrid-method ${options.hybridMethod} must be one of the evaluated --methods other than oracle (${options.methods.join(",")})`);
    }
    const tasks = benchmark.userTasks.map((userTask): TaskPlan => {
        const shots = drawShots(userTask, options.kShot, options.seed);
        const outOfScope = drawOutOfScope(benchmark.outOfScope, userTask.task, userTask.test.length, options.seed);
        return {
            task: userTask.task,
            userTask,
            shots,
            outOfScope,
            routingQueries: [...userTask.test.map((item) => ({ item, inScope: true })), ...outOfScope.map((item) => ({ item, inScope: false }))]
        };
    });
    const distinct = (items: QaItem[]) => [...new Map(items.map((item) => [item.id, item] as const)).values()];
    const serverItems = distinct(tasks.flatMap((t) => t.routingQueries.map(({ item }) => item)));
    const outOfScopeItems = distinct(tasks.flatMap((t) => t.outOfScope));

    const testItems = tasks.reduce((sum, t) => sum + t.userTask.test.length, 0);
    const deviceMethods = options.methods.filter((m) => m !== "oracle").length;
    const blends = options.methods.filter(isBlendMethod).reduce((sum, m) => sum + (m === "lorahub" ? options.lorahubBudget : 1), 0);
    // embedded once each: the shots and every routing query's prompt (the memoized embedder skips repeats)
    const embedded = new Set(tasks.flatMap((t) => [...t.shots, ...t.routingQueries.map((q) => q.item)]).map(formatPrompt)).size;
    const totalUnits =
        tasks.length * blends
        + testItems * deviceMethods
        + (options.methods.includes("oracle") ? pool.adapterPaths.length * testItems : 0)
        + tasks.reduce((sum, t) => sum + t.outOfScope.length, 0)
        + embedded
        + serverItems.length;
    return { tasks, serverItems, outOfScopeItems, totalUnits };
}
