import type { QaItem } from "../data/item.js";
import { textTable } from "../format/textTable.js";

/** What one cluster holds, for the printed table and the manifest. */
export interface ClusterContents {
    cluster: number;
    size: number;
    /** items per task and per source, most frequent first */
    tasks: Record<string, number>;
    sources: Record<string, number>;
    /** the most frequent domain and the share of the cluster it makes up */
    majorityDomain: string;
    majorityShare: number;
}

export interface ClusterReport {
    clusters: ClusterContents[];
    /** share of items whose cluster's majority domain is their own: 1 = every cluster is one domain */
    purity: number;
}

/**
 * The domain an item belongs to for purity: the part of a task name before its first `.` (world tasks
 * such as `arith.add` → `arith`); tasks without a dot (an MMLU subject, a dataset name) count by source.
 */
export function itemDomain(item: Pick<QaItem, "task" | "source">): string {
    const dot = item.task.indexOf(".");
    return dot > 0 ? item.task.slice(0, dot) : item.source;
}

export function describeClusters(items: readonly QaItem[], assignment: Int32Array, k: number): ClusterReport {
    const members: QaItem[][] = Array.from({ length: k }, () => []);
    items.forEach((item, i) => members[assignment[i]!]!.push(item));
    let agreeing = 0;
    const clusters = members.map((list, cluster): ClusterContents => {
        const domains = countBy(list, itemDomain);
        const [majorityDomain, majorityCount] = Object.entries(domains)[0] ?? ["", 0];
        agreeing += majorityCount;
        return {
            cluster,
            size: list.length,
            tasks: countBy(list, (item) => item.task),
            sources: countBy(list, (item) => item.source),
            majorityDomain,
            majorityShare: list.length === 0 ? 0 : majorityCount / list.length
        };
    });
    return { clusters, purity: items.length === 0 ? 0 : agreeing / items.length };
}

/** Counts by key, most frequent first (ties by name, for stable output). */
export function countBy<T>(list: readonly T[], key: (value: T) => string): Record<string, number> {
    const counts = new Map<string, number>();
    for (const value of list) counts.set(key(value), (counts.get(key(value)) ?? 0) + 1);
    return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}

/** A plain-text table: one row per cluster with its size, majority domain share and top tasks. */
export function formatClusterTable(report: ClusterReport, topTasks = 4): string {
    const header = ["cluster", "size", "domain", "share", "sources", "tasks"];
    const rows = report.clusters.map((c) => {
        const tasks = Object.entries(c.tasks);
        const shown = tasks.slice(0, topTasks).map(([task, n]) => `${task} ${n}`).join(", ");
        return [
            String(c.cluster), String(c.size), c.majorityDomain, `${(100 * c.majorityShare).toFixed(0)}%`,
            Object.keys(c.sources).join(","), tasks.length > topTasks ? `${shown}, +${tasks.length - topTasks} more` : shown
        ];
    });
    return [...textTable(header, rows, (i) => i === 1 || i === 3), `purity ${report.purity.toFixed(3)}`, ""].join("\n");
}
