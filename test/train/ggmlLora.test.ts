import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { loadLlamaModel, type LoadedLlamaModel } from "../../src/model/modelFile.js";
import { defaultPieces, writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { OPTION_LETTERS } from "../../src/data/prompt.js";
import { SPM_SPACE } from "../../src/tokenizer/spmVocab.js";
import { disposeWeights } from "../../src/model/weights.js";
import type { CreateLoraOptimization } from "../../src/train/adapterTrainer.js";
import { trainClusterAdapter } from "../../src/train/clusterTraining.js";
import { answerMetrics } from "../../src/pool/heldOutLoss.js";
import { createLoraOptimization } from "../../src/train/loraOptimization.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { createGgmlLoraOptimization } from "../../src/train/ggml/loraOptimization.js";
import { maxRelativeError } from "./helpers.js";

// build-pool's adapter training on the ggml engine: the same adapter twice (bit for bit), the adapter
// the tfjs engine trains (to float tolerance), and a GGUF LoRA that node-llama-cpp loads and that
// lowers the answer loss of the items it was trained on.
let dir: string;
let modelPath: string;
let base: LoadedLlamaModel;
let runtime: LlamaRuntime;
let encoder: ItemEncoder;

const items: QaItem[] = Array.from({ length: 16 }, (_, i) => ({
    id: `t/${i}`,
    source: "test",
    task: "t",
    question: `Which is ${"abcdefgh"[i % 8]}?`,
    choices: ["a", "b", "c", "d"].map((c, j) => `${c}${(i + j) % 5}`),
    answer: i % 4
}));

async function trainAdapter(name: string, createOptimization: CreateLoraOptimization): Promise<string> {
    const adapterPath = path.join(dir, `${name}.gguf`);
    await trainClusterAdapter({
        base,
        encoder,
        items,
        spec: { rank: 4, alpha: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"], steps: 12, learningRate: 0.02, batchSize: 8, seqLen: 128, seed: 3, rotateChoices: false },
        createOptimization,
        checkpoints: path.join(dir, `${name}-checkpoints`),
        adapterPath,
        name: "adapter" // the same metadata in every file: only the tensors can differ
    });
    return adapterPath;
}

beforeAll(async () => {
    process.env["CRAYON_THREADS"] = "1";
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-ggml-lora-"));
    modelPath = path.join(dir, "base.gguf");
    await writeRandomLlamaModel(modelPath, { embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64, seed: 9, pieces: [...defaultPieces(), ...OPTION_LETTERS.map((letter) => SPM_SPACE + letter)] });
    base = await loadLlamaModel(modelPath);
    runtime = await LlamaRuntime.create({ threads: 1 });
    encoder = new ItemEncoder(await runtime.loadModel(modelPath, { vocabOnly: true }), modelPath);
});
afterAll(async () => {
    disposeWeights(base.weights);
    await runtime.dispose();
    await rm(dir, { recursive: true, force: true });
});

describe("build-pool adapters on the ggml engine", () => {
    it("are bit-identical across runs, equal the tfjs engine's to 1e-3, and load and score in node-llama-cpp", async () => {
        const first = await trainAdapter("ggml-1", createGgmlLoraOptimization);
        const second = await trainAdapter("ggml-2", createGgmlLoraOptimization);
        expect((await readFile(first)).equals(await readFile(second))).toBe(true);

        const reference = await trainAdapter("tfjs", createLoraOptimization);
        const [ggmlFile, tfjsFile] = [await readGguf(first), await readGguf(reference)];
        expect(ggmlFile.tensors.map((t) => t.name)).toEqual(tfjsFile.tensors.map((t) => t.name));
        for (const tensor of tfjsFile.tensors) {
            expect(maxRelativeError(await readTensorF32(tfjsFile, tensor.name), await readTensorF32(ggmlFile, tensor.name))).toBeLessThan(1e-3);
        }

        const model = await runtime.loadModel(modelPath);
        const before = await answerMetrics(runtime, model, encoder, items);
        const after = await answerMetrics(runtime, model, encoder, items, [{ path: first, scale: 1 }]);
        expect(after.loss).toBeLessThan(before.loss - 0.1);
    }, 120_000);
});
