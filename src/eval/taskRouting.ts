import { createRng } from "../data/random.js";
import type { QaItem } from "../data/item.js";
import { meanCurve, routingCurve, summarizeCurve, type RoutedQuery } from "./routingCurve.js";
import type { ScoredItem } from "./scoredItem.js";
import { SWEPT_POLICIES, type RoutingQueryRecord, type RoutingResult, type SweptPolicy } from "./types.js";

/** How a task's routing set is made; recorded in results.json. */
export const ROUTING_QUERIES_RULE =
    "the task's test items plus an equal number of out-of-scope queries (all of them if fewer), drawn with the seed: a stream half in and half out of the customized task";

/**
 * The out-of-scope half of a task's routing set: as many queries as the task has test items, a seeded draw
 * so that every task meets a different sample and the same seed meets the same one.
 */
export function drawOutOfScope(outOfScope: readonly QaItem[], task: string, count: number, seed: number): QaItem[] {
    return createRng(`out-of-scope:${task}:${seed}`).shuffle(outOfScope).slice(0, Math.min(count, outOfScope.length));
}

/** One record per query: the device's and the server's answers and the routing signals. */
export function routingRecords(
    queries: readonly { item: QaItem; inScope: boolean }[], device: readonly ScoredItem[], server: readonly ScoredItem[], scopes: readonly number[]
): RoutingQueryRecord[] {
    return queries.map(({ item, inScope }, i) => ({
        id: item.id,
        inScope,
        deviceChoice: device[i]!.choice,
        deviceConfidence: device[i]!.confidence,
        deviceCorrect: device[i]!.correct,
        scope: scopes[i]!,
        serverChoice: server[i]!.choice,
        serverConfidence: server[i]!.confidence,
        serverCorrect: server[i]!.correct
    }));
}

/** Every swept policy's curve and summary on one task's routing set. */
export function routingResult(records: readonly RoutingQueryRecord[]): RoutingResult {
    const queries: RoutedQuery[] = records.map((r) => ({
        signals: { confidence: r.deviceConfidence, scope: r.scope },
        deviceCorrect: r.deviceCorrect,
        serverCorrect: r.serverCorrect
    }));
    const policies = Object.fromEntries(SWEPT_POLICIES.map((policy) => [policy, summarizeCurve(routingCurve(policy, queries))])) as Record<SweptPolicy, RoutingResult["policies"][SweptPolicy]>;
    const curve = policies.confidence.curve;
    return { queries: records.length, deviceAccuracy: curve[0]!.accuracy, serverAccuracy: curve.at(-1)!.accuracy, policies };
}

/**
 * Over all tasks: each policy's curve is the mean of the tasks' curves (every task is its own user with its
 * own calibration, so thresholds are never shared across tasks), and its numbers are computed from that
 * mean curve — the AUC is then exactly the mean of the tasks' AUCs.
 */
export function overallRouting(tasks: readonly RoutingResult[]): RoutingResult {
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const policies = Object.fromEntries(
        SWEPT_POLICIES.map((policy) => [policy, summarizeCurve(meanCurve(tasks.map((t) => t.policies[policy].curve)))])
    ) as Record<SweptPolicy, RoutingResult["policies"][SweptPolicy]>;
    return {
        queries: tasks.reduce((sum, t) => sum + t.queries, 0),
        deviceAccuracy: mean(tasks.map((t) => t.deviceAccuracy)),
        serverAccuracy: mean(tasks.map((t) => t.serverAccuracy)),
        policies
    };
}
