import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { llamaLogits } from "../../src/model/forward.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../../src/model/modelFile.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { ItemScorer, type ItemScores } from "../../src/runtime/scoring.js";
import { runCrayon } from "../cli/runCrayon.js";
import { testItems, writeTestModel } from "./fixtures.js";

let dir: string;
let modelPath: string;
let runtime: LlamaRuntime;
let model: LlamaModel;
let reference: LoadedLlamaModel;

/** The fixture's items, plus one whose options share a prefix ("7", "73"): its end of sequence is scored. */
function clozeItems(): QaItem[] {
    const numbers: QaItem = { id: "t/3", source: "test", task: "t", question: "the biggest of 7, 73 and 5?", choices: ["7", "73", "5"], answer: 1 };
    return [...testItems(), numbers].map((item) => ({ ...item, scoring: "cloze" }));
}

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-cloze-"));
    modelPath = path.join(dir, "model.gguf");
    await writeTestModel(modelPath);
    reference = await loadLlamaModel(modelPath);
    runtime = await LlamaRuntime.create({ threads: 1 });
    model = await runtime.loadModel(modelPath);
});

afterAll(async () => {
    await model.dispose();
    await runtime.dispose();
    rmSync(dir, { recursive: true, force: true });
});

/**
 * By hand: the tfjs forward over context + option (+ EOS), then the log-softmax of each continuation
 * token at the position before it, summed. One forward per option, nothing shared.
 */
async function referenceLogLikelihoods(items: QaItem[]): Promise<number[][]> {
    const encoder = new ItemEncoder(model, modelPath);
    return items.map((item) => {
        const { options, eos } = encoder.encodeCloze(item);
        return options.map(({ tokens, start }) => {
            const scored = eos === null ? tokens : [...tokens, eos];
            const logProbs = tf.tidy(() => tf.logSoftmax(llamaLogits(reference.hp, reference.weights, tf.tensor2d([scored], [1, scored.length], "int32"))).reshape([scored.length, -1]).arraySync() as number[][]);
            let sum = 0;
            for (let j = start; j < scored.length; j++) sum += logProbs[j - 1]![scored[j]!]!;
            return sum;
        });
    });
}

async function deviceScores(items: QaItem[]): Promise<ItemScores[]> {
    const context = await runtime.createContext(model);
    try {
        return await new ItemScorer(context.getSequence(), new ItemEncoder(model, modelPath)).scoreAll(items);
    } finally {
        await context.dispose();
    }
}

describe("cloze scoring", () => {
    it("gives each option's summed log-likelihood as the tfjs forward does by hand, within 1e-4", async () => {
        const items = clozeItems();
        const expected = await referenceLogLikelihoods(items);
        const actual = await deviceScores(items);
        actual.forEach((scores, i) => {
            expect(scores.cloze!.logLikelihoods).toHaveLength(items[i]!.choices.length);
            scores.cloze!.logLikelihoods.forEach((ll, j) => expect(Math.abs(ll - expected[i]![j]!)).toBeLessThan(1e-4));
        });
    });

    it("scores the end of sequence exactly where one option is a prefix of another", async () => {
        const encoder = new ItemEncoder(model, modelPath);
        expect(clozeItems().map((item) => encoder.encodeCloze(item).eos !== null)).toEqual([false, false, false, true]);
    });

    it("reads acc from the sums, acc_norm and the probabilities from the sums per byte", async () => {
        const items = clozeItems();
        for (const [i, scores] of (await deviceScores(items)).entries()) {
            const { logLikelihoods, byteLengths, rawChoice } = scores.cloze!;
            expect(byteLengths).toEqual(items[i]!.choices.map((choice) => Buffer.byteLength(` ${choice}`)));
            const perByte = logLikelihoods.map((ll, j) => ll / byteLengths[j]!);
            expect(rawChoice).toBe(logLikelihoods.indexOf(Math.max(...logLikelihoods)));
            expect(scores.choice).toBe(perByte.indexOf(Math.max(...perByte)));
            const total = perByte.reduce((sum, v) => sum + Math.exp(v), 0);
            scores.probabilities.forEach((p, j) => expect(p).toBeCloseTo(Math.exp(perByte[j]!) / total, 9));
        }
    });

    it("crayon score --scoring cloze reports acc_norm and acc equal to those of the hand-computed log-likelihoods", async () => {
        const items = clozeItems();
        const expected = await referenceLogLikelihoods(items);
        const byteLengths = items.map((item) => item.choices.map((choice) => Buffer.byteLength(` ${choice}`)));
        const argmax = (values: number[]) => values.indexOf(Math.max(...values));
        const acc = expected.filter((lls, i) => argmax(lls) === items[i]!.answer).length / items.length;
        const accNorm = expected.filter((lls, i) => argmax(lls.map((ll, j) => ll / byteLengths[i]![j]!)) === items[i]!.answer).length / items.length;
        const testFile = path.join(dir, "mine.jsonl");
        writeFileSync(testFile, items.map(({ question, choices, answer, context }) => JSON.stringify({ question, choices, answer, ...(context === undefined ? {} : { context }) })).join("\n"));
        const run = await runCrayon(["score", "--model", modelPath, "--test", testFile, "--scoring", "cloze", "--threads", "1", "--json"]);
        expect(run.stderr).toBe("");
        const { base } = JSON.parse(run.stdout) as { base: { accuracy: number; rawAccuracy: number } };
        expect(base.accuracy).toBeCloseTo(accNorm, 12);
        expect(base.rawAccuracy).toBeCloseTo(acc, 12);
    });
});
