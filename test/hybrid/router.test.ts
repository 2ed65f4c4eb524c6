import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { calibrateThresholds, routedShare, thresholdForShare } from "../../src/hybrid/calibrate.js";
import { routingReason, type RoutingSignals } from "../../src/hybrid/policy.js";
import { HybridRouter, type DeviceAnswerer, type ServerAnswerer } from "../../src/hybrid/router.js";
import { TaskScope, type EmbedTexts } from "../../src/hybrid/taskScope.js";
import { ServerClient } from "../../src/runtime/serverClient.js";
import { scoresFromLogits, type OptionScores } from "../../src/runtime/scoring.js";

/** Letter counts: texts sharing words point the same way. */
const embed: EmbedTexts = async (texts) => texts.map((text) => {
    const v = new Float32Array(26);
    for (const c of text.toLowerCase()) if (c >= "a" && c <= "z") v[c.charCodeAt(0) - 97]! += 1;
    return v;
});

function item(question: string): QaItem {
    return { id: question, source: "test", task: "t", question, choices: ["yes", "no"], answer: 0 };
}

/** A device whose confidence in an item is given by a table keyed by question. */
function fakeDevice(confidence: Record<string, number>): DeviceAnswerer {
    return {
        scoreItem: async (q) => {
            const p = confidence[q.question]!;
            return { probabilities: [p, 1 - p], choice: 0, confidence: p };
        },
        generate: async () => ({ text: "device text", confidence: 0.9 })
    };
}

const serverScores: OptionScores = scoresFromLogits([0, 5]);
const workingServer: ServerAnswerer = { scoreItem: async () => serverScores, chat: async () => "server text" };

describe("routing policies", () => {
    const low: RoutingSignals = { confidence: 0.4, scope: 0.9 };
    const outOfScope: RoutingSignals = { confidence: 0.9, scope: 0.2 };
    const fine: RoutingSignals = { confidence: 0.9, scope: 0.9 };
    const thresholds = { confidence: 0.6, scope: 0.5 };

    it("decides per policy", () => {
        const decide = (policy: Parameters<typeof routingReason>[0], s: RoutingSignals) => routingReason(policy, thresholds, s) !== null;
        expect([low, outOfScope, fine].map((s) => decide("device", s))).toEqual([false, false, false]);
        expect([low, outOfScope, fine].map((s) => decide("server", s))).toEqual([true, true, true]);
        expect([low, outOfScope, fine].map((s) => decide("confidence", s))).toEqual([true, false, false]);
        expect([low, outOfScope, fine].map((s) => decide("scope", s))).toEqual([false, true, false]);
        expect([low, outOfScope, fine].map((s) => decide("confidence+scope", s))).toEqual([true, true, false]);
    });

    it("says which threshold is missing", () => {
        expect(() => routingReason("confidence", {}, fine)).toThrow(/confidence θ/);
        expect(() => routingReason("scope", { scope: 0.5 }, { confidence: 1 })).toThrow(/examples/);
    });
});

describe("calibration to a target server share", () => {
    const signals: RoutingSignals[] = Array.from({ length: 20 }, (_, i) => ({ confidence: (i + 1) / 21, scope: ((i * 7) % 20) / 20 }));

    it("routes the target share with one signal", () => {
        for (const share of [0, 0.25, 0.5, 1]) {
            expect(routedShare("confidence", calibrateThresholds("confidence", signals, share), signals)).toBeCloseTo(share, 10);
            expect(routedShare("scope", calibrateThresholds("scope", signals, share), signals)).toBeCloseTo(share, 10);
        }
        expect(thresholdForShare([0.3, 0.1, 0.2], 1)).toBe(Infinity);
    });

    it("routes at most the target share, within one query, when either signal triggers", () => {
        for (const share of [0.1, 0.3, 0.6]) {
            const realised = routedShare("confidence+scope", calibrateThresholds("confidence+scope", signals, share), signals);
            expect(realised).toBeLessThanOrEqual(share + 1e-9);
            expect(realised).toBeGreaterThanOrEqual(share - 1 / signals.length - 1e-9);
        }
    });
});

describe("the hybrid router", () => {
    const device = fakeDevice({ "sure thing": 0.95, "unsure thing": 0.55 });

    it("keeps confident answers on the device and routes unsure ones", async () => {
        const router = new HybridRouter({ policy: "confidence", thresholds: { confidence: 0.7 }, server: workingServer });
        const sure = await router.answerItem(item("sure thing"), device);
        expect(sure).toMatchObject({ via: "device", fallback: false, reason: null });
        const unsure = await router.answerItem(item("unsure thing"), device);
        expect(unsure).toMatchObject({ via: "server", fallback: false, scores: serverScores });
        expect(unsure.deviceScores.confidence).toBeCloseTo(0.55);
    });

    it("routes out-of-scope queries by similarity to the examples, max and mean", async () => {
        for (const pooling of ["max", "mean"] as const) {
            const scope = await TaskScope.fromExamples(embed, ["capital of france", "capital of spain", "capital city of peru"].map(item), pooling);
            const sigma = thresholdForShare(scope.leaveOneOutSimilarities(), 0);
            const router = new HybridRouter({ policy: "scope", thresholds: { scope: sigma }, server: workingServer, scope });
            const far = fakeDevice({ "zzz xyz qqq": 0.99, "capital of italy": 0.5 });
            expect((await router.answerItem(item("zzz xyz qqq"), far)).via).toBe("server");
            expect((await router.answerItem(item("capital of italy"), far)).via).toBe("device");
        }
    });

    it("answers everything on the device when the server is off", async () => {
        const router = new HybridRouter({ policy: "server", thresholds: {} });
        expect((await router.answerItem(item("unsure thing"), device)).via).toBe("device");
        expect((await router.answerText("hello", device)).text).toBe("device text");
    });

    it("routes free text and returns the server's text", async () => {
        const router = new HybridRouter({ policy: "server", thresholds: {}, server: workingServer });
        expect(await router.answerText("hello", device)).toMatchObject({ via: "server", text: "server text" });
    });
});

describe("fallback when the server fails", () => {
    let silent: Server;
    let silentUrl: string;
    let flaky: Server;
    let flakyUrl: string;
    let flakyCalls = 0;

    const listen = async (server: Server) => {
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    };

    beforeAll(async () => {
        silent = createServer(() => undefined); // accepts and never answers
        silentUrl = await listen(silent);
        flaky = createServer((req, res) => {
            req.resume();
            flakyCalls++;
            if (flakyCalls < 3) {
                res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "warming up" } }));
                return;
            }
            const top_logprobs = [{ " A": -2, " B": -0.2, "the": -3, "C": -0.1 }];
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ choices: [{ text: " B", logprobs: { top_logprobs } }] }));
        });
        flakyUrl = await listen(flaky);
    });

    afterAll(async () => {
        silent.closeAllConnections();
        flaky.closeAllConnections();
        await Promise.all([silent, flaky].map((s) => new Promise((resolve) => s.close(resolve))));
    });

    const device = fakeDevice({ "unsure thing": 0.55 });
    const routeTo = (server: ServerClient) => new HybridRouter({ policy: "server", thresholds: {}, server });

    it("uses the device answer, marked fallback, when the server is down", async () => {
        const closed = createServer();
        const closedUrl = await listen(closed);
        await new Promise((resolve) => closed.close(resolve));
        const down = new ServerClient({ baseUrl: closedUrl, model: "m", retries: 1, backoffMs: 1 });
        const answer = await routeTo(down).answerItem(item("unsure thing"), device);
        expect(answer).toMatchObject({ via: "device", fallback: true });
        expect(answer.serverError).toBe(`server ${closedUrl}/completions unreachable: ECONNREFUSED (after 2 attempts)`);
    });

    it("uses the device answer when the server times out", async () => {
        const slow = new ServerClient({ baseUrl: silentUrl, model: "m", retries: 0, timeoutMs: 100 });
        const answer = await routeTo(slow).answerItem(item("unsure thing"), device);
        expect(answer).toMatchObject({ via: "device", fallback: true });
        expect(answer.serverError).toMatch(/no answer within 100 ms/);
    });

    it("retries 5xx with backoff and reads the option letters from the top log-probabilities", async () => {
        const client = new ServerClient({ baseUrl: flakyUrl, model: "m", retries: 2, backoffMs: 1 });
        const three: QaItem = { ...item("q"), choices: ["x", "y", "z"] };
        const scores = await client.scoreItem(three);
        expect(flakyCalls).toBe(3);
        expect(scores.choice).toBe(1);
        expect(scores.probabilities[2]).toBe(0); // " C" was not among the alternatives ("C" is another token): −∞
        expect(scores.probabilities[0]! + scores.probabilities[1]!).toBeCloseTo(1, 12);
        expect(scores.confidence).toBeCloseTo(1 / (1 + Math.exp(-1.8)), 12);
    });
});
