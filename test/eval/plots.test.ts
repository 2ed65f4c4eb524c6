import { parse, View } from "vega";
import { compile } from "vega-lite";
import { describe, expect, it } from "vitest";
import { chartSpecs } from "../../src/eval/plots.js";
import { overallRouting, routingResult } from "../../src/eval/taskRouting.js";
import type { EvalResults, RoutingQueryRecord } from "../../src/eval/types.js";

/** A task's routing set of 10 queries: the device right on the first `deviceRight`, the server on the first `serverRight`. */
function records(deviceRight: number, serverRight: number): RoutingQueryRecord[] {
    return Array.from({ length: 10 }, (_, i) => ({
        id: `q${i}`, inScope: i < 5, deviceChoice: 0, deviceConfidence: 0.3 + 0.05 * i, deviceCorrect: i < deviceRight, scope: 1 - 0.1 * i,
        serverChoice: 0, serverConfidence: 0.9, serverCorrect: i < serverRight
    }));
}

describe("the routing plots", () => {
    it("draw random routing — the straight line from device-only to server-only accuracy — in every task's panel", async () => {
        const routing = [routingResult(records(3, 8)), routingResult(records(6, 7))];
        // only the parts the charts read
        const results = {
            config: { hybridMethod: "crayon", methods: ["base"] },
            tasks: ["t.one", "t.two"].map((task, i) => ({ task, routing: routing[i]!, methods: { base: { accuracy: 0.5 } }, server: { accuracy: 0.7 } })),
            summary: { routing: overallRouting(routing), methods: { base: 0.5 }, server: 0.7 }
        } as unknown as EvalResults;
        const spec = chartSpecs(results)["routing-by-task"]!;
        const rows = (spec as { data: { values: { task: string; policy: string; serverShare: number; accuracy: number }[] } }).data.values;
        for (const [i, task] of ["t.one", "t.two"].entries()) {
            expect(rows.filter((r) => r.task === task && r.policy === "random")).toEqual([
                { task, policy: "random", serverShare: 0, accuracy: routing[i]!.deviceAccuracy },
                { task, policy: "random", serverShare: 1, accuracy: routing[i]!.serverAccuracy }
            ]);
        }
        expect(routing.map((r) => [r.deviceAccuracy, r.serverAccuracy])).toEqual([[0.3, 0.8], [0.6, 0.7]]);
        const svg = await new View(parse(compile(spec).spec), { renderer: "none" }).toSVG();
        expect(svg.match(/stroke-dasharray="4,4"/g)).toHaveLength(2);
    });
});
