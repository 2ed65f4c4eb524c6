import path from "node:path";
import { REPORTED_SHARES } from "./routingCurve.js";
import { SWEPT_POLICIES, type EvalResults } from "./types.js";
import { textTable } from "../format/textTable.js";

/** The terminal report: accuracy per method per task, then routing per policy (overall) and per task. */
export function summaryTable(results: EvalResults): string {
    const { config, tasks, summary } = results;
    const out: string[] = [];
    const server = config.server.kind === "spawned" ? shownPath(config.server.model.path) : config.server.url;
    out.push(`crayon eval: ${config.benchmark.name} v${config.benchmark.version}, ${tasks.length} user tasks, k = ${config.kShot} examples, seed ${config.seed}`);
    out.push(`device ${shownPath(config.deviceModel.path)} with pool ${config.pool.name} (${config.pool.adapters} adapters); server ${server}`);
    out.push("");
    out.push("Accuracy (%) on each task's test items");
    const methodRows = config.methods.map((method) => [
        method === "oracle" ? "oracle*" : method,
        ...tasks.map((t) => percent(t.methods[method]!.accuracy)),
        percent(summary.methods[method]!)
    ]);
    methodRows.push(["server", ...tasks.map((t) => percent(t.server.accuracy)), percent(summary.server)]);
    out.push(...table(["method", ...tasks.map((t) => t.task), "mean"], methodRows));
    if (config.methods.includes("oracle")) out.push("* oracle: the single pool adapter with the best test accuracy per task, chosen with the test labels: an upper reference, not a method");
    if (summary.comparisons.length > 0) {
        const signed = (value: number) => `${value >= 0 ? "+" : "−"}${percent(Math.abs(value))}`;
        out.push(`paired on the same test items (points, bootstrap 95% interval): ${summary.comparisons.map((c) => `${c.method} − ${c.against} ${signed(c.difference)} [${signed(c.low)}, ${signed(c.high)}]`).join("; ")}`);
    }
    out.push(...singleAdapterLines(results));
    out.push("");

    const { routing } = summary;
    out.push(`Hybrid routing, mean over tasks: device = ${config.hybridMethod} adapter; ${routing.queries} queries in all, each task's test items + as many out-of-scope ones`);
    out.push(...table(
        ["policy", "device", ...REPORTED_SHARES.map((s) => `${Math.round(s * 100)}% server`), "server", "AUC", "APGR", "CPT(50%)"],
        SWEPT_POLICIES.map((policy) => {
            const p = routing.policies[policy];
            return [policy, percent(routing.deviceAccuracy), ...p.atShares.map((a) => percent(a.accuracy)), percent(routing.serverAccuracy), percent(p.auc), ratio(p.apgr), `${percent(p.cpt50)}%`];
        })
    ));
    out.push("accuracy (%) at a share of server calls; AUC over share 0…100%; APGR = (AUC − device)/(server − device); CPT(50%) = server calls needed to close half the gap");
    out.push("");

    out.push("Routing per task: AUC (%) / CPT(50%) per policy");
    out.push(...table(
        ["task", "device", "server", ...SWEPT_POLICIES],
        tasks.map((t) => [
            t.task, percent(t.routing.deviceAccuracy), percent(t.routing.serverAccuracy),
            ...SWEPT_POLICIES.map((policy) => `${percent(t.routing.policies[policy].auc)} / ${percent(t.routing.policies[policy].cpt50)}%`)
        ])
    ));
    out.push(`out-of-scope queries (${summary.outOfScope.queries}): server ${percent(summary.outOfScope.serverAccuracy)}%, device ${percent(summary.outOfScope.deviceAccuracy)}%`);
    const tooLong = tasks.filter((t) => t.tooLong.test + t.tooLong.shots > 0).map((t) => `${t.task} ${t.tooLong.test} test, ${t.tooLong.shots} shot candidates`);
    if (summary.outOfScope.tooLong > 0) tooLong.push(`${summary.outOfScope.tooLong} out-of-scope`);
    if (tooLong.length > 0) out.push(`left out, prompt longer than a model's context: ${tooLong.join("; ")}`);
    return `${out.join("\n")}\n`;
}

/**
 * Each pool adapter alone on each task (what the oracle chose from), and per task the lift of the best
 * adapter over the mean of the others: whether the pool holds an adapter that carries the task, and how
 * much an unrelated one would give instead.
 */
function singleAdapterLines(results: EvalResults): string[] {
    const { tasks } = results;
    const byTask = tasks.map((t) => t.methods.oracle?.oracle?.accuracyByAdapter);
    if (byTask.some((accuracies) => accuracies === undefined)) return [];
    const adapterIds = Object.keys(byTask[0]!);
    const rows = adapterIds.map((id) => [id, ...byTask.map((accuracies) => percent(accuracies![id]!))]);
    rows.unshift(["base", ...tasks.map((t) => percent(t.methods.base?.accuracy ?? Number.NaN))]);
    const lift = byTask.map((accuracies) => {
        const values = adapterIds.map((id) => accuracies![id]!);
        const best = Math.max(...values);
        const others = values.filter((_, i) => i !== values.indexOf(best));
        return others.length === 0 ? "-" : `+${percent(best - others.reduce((s, v) => s + v, 0) / others.length)}`;
    });
    rows.push(["best − others", ...lift]);
    return ["", "Each pool adapter alone (accuracy %), and the best one's lift over the mean of the others (points)", ...table(["adapter", ...tasks.map((t) => t.task)], rows)];
}

function percent(value: number): string {
    return (100 * value).toFixed(1);
}

function ratio(value: number | null): string {
    return value === null ? "-" : value.toFixed(2);
}

/** The first column names the row; the others are numbers. */
function table(header: string[], rows: string[][]): string[] {
    return textTable(header, rows, (i) => i > 0);
}

/** A model's path as the report shows it: relative to the working folder when inside it (results.json keeps it whole). */
function shownPath(file: string): string {
    const relative = path.relative(process.cwd(), file);
    return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}
