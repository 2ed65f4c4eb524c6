import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { SWEPT_POLICIES, type EvalResults, type RoutingResult } from "./types.js";

/** The font the charts ask for; resvg finds it among the system fonts (DejaVu ships with most Linux systems). */
const FONT = "DejaVu Sans";
/** PNG pixels per SVG unit. */
const PNG_ZOOM = 2;

/**
 * The report's charts as vega-lite specs, rendered headlessly to SVG by vega and to PNG by resvg:
 * accuracy against the share of server calls per policy (overall and per task), and accuracy per method
 * per task. Returns the files written (name.svg and name.png for each chart).
 */
export async function writePlots(results: EvalResults, outDir: string): Promise<string[]> {
    // loaded here, not at start-up: every command's start would otherwise pay for the renderers (~0.35 s)
    const [{ Resvg }, { parse, View }, { compile }] = await Promise.all([import("@resvg/resvg-js"), import("vega"), import("vega-lite")]);
    const written: string[] = [];
    for (const [name, spec] of Object.entries(chartSpecs(results))) {
        const svg = await new View(parse(compile(spec).spec), { renderer: "none" }).toSVG();
        const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: FONT }, fitTo: { mode: "zoom", value: PNG_ZOOM }, background: "white" }).render().asPng();
        for (const [file, data] of [[`${name}.svg`, svg], [`${name}.png`, png]] as const) {
            writeFileAtomic(path.join(outDir, file), [data]);
            written.push(path.join(outDir, file));
        }
    }
    return written;
}

export function chartSpecs(results: EvalResults): Record<string, TopLevelSpec> {
    const { summary, tasks, config } = results;
    const routingPoints = (task: string, policies: typeof summary.routing.policies) =>
        SWEPT_POLICIES.flatMap((policy) => policies[policy].curve.map((p) => ({ task, policy, serverShare: p.serverShare, accuracy: p.accuracy })));
    const shareAxis = { field: "serverShare", type: "quantitative", title: "share of queries sent to the server", axis: { format: "%" }, scale: { domain: [0, 1] as number[] } } as const;
    const accuracyAxis = { field: "accuracy", type: "quantitative", title: "accuracy", axis: { format: "%" }, scale: { zero: false } } as const;
    const policyColor = { field: "policy", type: "nominal", title: "routing policy", sort: [...SWEPT_POLICIES] } as const;
    const config_ = { font: FONT, view: { stroke: null } };
    const { routing } = summary;
    // random routing sends a share s of the queries at random: accuracy falls on the line from device-only to server-only
    const randomRouting = (task: string, r: RoutingResult) =>
        [{ task, policy: "random", serverShare: 0, accuracy: r.deviceAccuracy }, { task, policy: "random", serverShare: 1, accuracy: r.serverAccuracy }];
    const randomLineMark = { type: "line" as const, strokeDash: [4, 4], color: "gray" };

    const overall: TopLevelSpec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: "Hybrid routing: accuracy vs. server calls (mean over tasks)", subtitle: `device: ${config.hybridMethod} adapter; dashed: random routing` },
        width: 420, height: 300, config: config_,
        layer: [
            {
                data: { values: randomRouting("overall", routing) },
                mark: randomLineMark,
                encoding: { x: shareAxis, y: accuracyAxis }
            },
            {
                data: { values: routingPoints("overall", routing.policies) },
                mark: { type: "line", interpolate: "linear" },
                encoding: { x: shareAxis, y: accuracyAxis, color: policyColor }
            }
        ]
    };

    const byTask: TopLevelSpec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: "Hybrid routing per task: accuracy vs. server calls", subtitle: "dashed: random routing" },
        data: { values: tasks.flatMap((t) => [...routingPoints(t.task, t.routing.policies), ...randomRouting(t.task, t.routing)]) },
        config: config_,
        facet: { field: "task", type: "nominal", title: null, sort: tasks.map((t) => t.task) },
        columns: 3,
        spec: {
            width: 200, height: 150,
            layer: [
                { transform: [{ filter: "datum.policy === 'random'" }], mark: randomLineMark, encoding: { x: shareAxis, y: accuracyAxis } },
                { transform: [{ filter: "datum.policy !== 'random'" }], mark: "line", encoding: { x: shareAxis, y: accuracyAxis, color: policyColor } }
            ]
        },
        resolve: { scale: { y: "independent" } }
    };

    const methodNames = [...config.methods, "server"];
    const methodRows = [...tasks.map((t) => ({ task: t.task, accuracies: { ...mapValues(t.methods, (m) => m.accuracy), server: t.server.accuracy } })),
        { task: "mean", accuracies: { ...summary.methods, server: summary.server } }];
    const methods: TopLevelSpec = {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: "Accuracy per method per task", subtitle: "oracle: best single pool adapter by test accuracy (upper reference)" },
        data: { values: methodRows.flatMap(({ task, accuracies }) => methodNames.map((method) => ({ task, method, accuracy: (accuracies as Record<string, number>)[method] }))) },
        config: config_,
        width: Math.max(360, 16 * methodNames.length * (tasks.length + 1)), height: 260,
        mark: "bar",
        encoding: {
            x: { field: "task", type: "nominal", title: null, sort: [...tasks.map((t) => t.task), "mean"], axis: { labelAngle: 0 } },
            xOffset: { field: "method", type: "nominal", sort: methodNames },
            y: { field: "accuracy", type: "quantitative", title: "accuracy", axis: { format: "%" }, scale: { domain: [0, 1] } },
            color: { field: "method", type: "nominal", sort: methodNames, title: "method" }
        }
    };
    return { routing: overall, "routing-by-task": byTask, methods };
}

function mapValues<V, W>(record: Partial<Record<string, V>>, f: (value: V) => W): Record<string, W> {
    return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, f(value as V)]));
}
