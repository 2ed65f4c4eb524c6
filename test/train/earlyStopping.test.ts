import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../../src/model/modelFile.js";
import { rotateChoices } from "../../src/train/choiceRotations.js";
import { trainClusterAdapter } from "../../src/train/clusterTraining.js";
import { answerMetrics } from "../../src/pool/heldOutLoss.js";
import { createLoraOptimization } from "../../src/train/loraOptimization.js";
import { disposeWeights } from "../../src/model/weights.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { writeTestModel } from "../runtime/fixtures.js";
import { tinyBuild, writeTinyBenchmark } from "../pool/poolFixtures.js";

let dir: string;
let runtime: LlamaRuntime;
let base: LoadedLlamaModel;
let encoder: ItemEncoder;
let answeredA: QaItem[];
let answeredB: QaItem[];
const modelPath = () => path.join(dir, "base.gguf");

beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-early-stop-"));
    await writeTestModel(modelPath(), 5);
    await writeTinyBenchmark(path.join(dir, "tiny.json"), 60);
    // letter-scored: these tests are about an adapter learning a letter
    const items = (await loadBenchmark(path.join(dir, "tiny.json"), { scoring: "letter" })).pool;
    // the creatures' diets: four options that are words (the spelling items' options are letters themselves)
    const fourOptions = items.filter((item) => item.task === "zoo.far.diet");
    answeredA = fourOptions.filter((item) => item.answer === 0).slice(0, 12);
    answeredB = fourOptions.filter((item) => item.answer === 1).slice(0, 12);
    base = await loadLlamaModel(modelPath());
    runtime = await LlamaRuntime.create({ threads: 1 });
    encoder = new ItemEncoder(await runtime.loadModel(modelPath()), modelPath());
});
afterAll(async () => {
    disposeWeights(base.weights);
    await runtime.dispose();
    await rm(dir, { recursive: true, force: true });
});

const train = (name: string, validation?: QaItem[], rotateChoices = false) =>
    trainClusterAdapter({
        base,
        encoder,
        items: answeredA,
        validation,
        // one option order (by default): over-fitting to the letter A is what these tests need
        spec: { ...tinyBuild, steps: 40, learningRate: 0.3, rotateChoices },
        createOptimization: createLoraOptimization,
        checkpoints: path.join(dir, `${name}-checkpoints`),
        adapterPath: path.join(dir, `${name}.gguf`),
        name
    });

describe("choosing the step to keep", () => {
    it("writes the adapter of the lowest validation loss, not the last, once training over-fits", async () => {
        // trained only on items answered A, checked on items answered B: past a point each step hurts them
        const result = await train("overfit", answeredB);
        const curve = result.validationCurve;
        expect(curve).toHaveLength(21);
        expect(curve.at(-1)!).toBeGreaterThan(Math.min(...curve) + 0.01);
        expect(result.keptStep).toBe(result.validationEvery * curve.indexOf(Math.min(...curve)));
        expect(result.keptStep).toBeLessThan(40);
        // the file holds the kept step's factors: llama.cpp gives its validation loss, not the last step's
        const model = await runtime.loadModel(modelPath());
        const written = await answerMetrics(runtime, model, encoder, answeredB, [{ path: path.join(dir, "overfit.gguf"), scale: 1 }]);
        expect(written.loss).toBeCloseTo(curve[result.keptStep / result.validationEvery]!, 3);
    });

    it("keeps the last step when there are no validation items", async () => {
        const result = await train("last");
        expect(result.validationCurve).toEqual([]);
        expect(result.keptStep).toBe(40);
    });
});

describe("training on every rotation of the options", () => {
    it("teaches no letter: on items all answered A, the adapter learns no preference for A", async () => {
        await train("one-order");
        await train("rotated", undefined, true);
        const model = await runtime.loadModel(modelPath());
        // the B items with their answer moved to the letter A, and left behind B
        const atA = answeredB.map((item) => rotateChoices(item, item.choices.length - 1));
        const accuracy = async (adapter: string, items: QaItem[]) =>
            (await answerMetrics(runtime, model, encoder, items, [{ path: path.join(dir, `${adapter}.gguf`), scale: 1 }])).accuracy;
        const preferenceForA = async (adapter: string) => (await accuracy(adapter, atA)) - (await accuracy(adapter, answeredB));
        expect(await preferenceForA("one-order")).toBeGreaterThan(0.5);
        expect(Math.abs(await preferenceForA("rotated"))).toBeLessThan(0.25);
    });
});
