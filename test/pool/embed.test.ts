import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QaItem } from "../../src/data/item.js";
import { loadLlamaModel } from "../../src/model/modelFile.js";
import { writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { createEmbedder } from "../../src/pool/embed.js";
import { embedItemsCached } from "../../src/pool/embeddingCache.js";
import { sha256File } from "../../src/pool/fingerprint.js";
import { createHiddenStateEmbedder } from "../../src/pool/hiddenStateEmbedder.js";
import { dot } from "../../src/pool/vectors.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { setupEngine } from "../../src/train/engine/backend.js";

let dir: string;
let runtime: LlamaRuntime;
const spec = { embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64, contextLength: 256 };

const items: QaItem[] = ["the cat is red", "an answer of nine", "which is the largest?", "spell the word"].map((question, i) => ({
    id: `t/${i}`, source: "test", task: `t.${i}`, question, choices: ["yes", "no"], answer: 0
}));

beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-embed-"));
    await writeRandomLlamaModel(path.join(dir, "a.gguf"), { ...spec, seed: 1 });
    await writeRandomLlamaModel(path.join(dir, "b.gguf"), { ...spec, seed: 2 });
    runtime = await LlamaRuntime.create({ threads: 1 });
});
afterAll(async () => {
    await runtime?.dispose();
    await rm(dir, { recursive: true, force: true });
});

describe("base-model embeddings", () => {
    it("llama.cpp and the tfjs forward pass give the same unit vectors, for mean and last pooling", async () => {
        const modelPath = path.join(dir, "a.gguf");
        const base = await loadLlamaModel(modelPath);
        const tokenizer = await runtime.loadModel(modelPath, { vocabOnly: true });
        const texts = items.map((item) => item.question);
        for (const pooling of ["mean", "last"] as const) {
            const viaLlama = await createEmbedder(runtime, modelPath, { pooling });
            const viaTfjs = createHiddenStateEmbedder(base, tokenizer, { pooling, modelSha256: viaLlama.modelSha256 });
            const [a, b] = [await viaLlama.embed(texts), await viaTfjs.embed(texts)];
            expect(viaTfjs.spec).toEqual(viaLlama.spec);
            a.forEach((vector, i) => {
                expect(dot(vector, vector)).toBeCloseTo(1, 5);
                expect(dot(vector, b[i]!)).toBeGreaterThan(0.999);
            });
            await viaLlama.dispose();
        }
        await tokenizer.dispose();
    });

    it("reads the cache on a second run and never reuses vectors of another model", async () => {
        const cacheDir = path.join(dir, "cache");
        const embedWith = async (file: string) => {
            const embedder = await createEmbedder(runtime, path.join(dir, file), { pooling: "last" });
            const vectors = await embedItemsCached(embedder, items, { cacheDir });
            await embedder.dispose();
            return { vectors, evaluations: embedder.evaluations };
        };
        const first = await embedWith("a.gguf");
        expect(first.evaluations).toBe(items.length);
        const second = await embedWith("a.gguf");
        expect(second.evaluations).toBe(0);
        expect(second.vectors).toEqual(first.vectors);
        const other = await embedWith("b.gguf");
        expect(other.evaluations).toBe(items.length);
        expect(dot(other.vectors[0]!, first.vectors[0]!)).toBeLessThan(0.999);
        // an item whose text changes under the same id is embedded again
        const changed = [{ ...items[0]!, question: "a different question" }, ...items.slice(1)];
        const embedder = await createEmbedder(runtime, path.join(dir, "a.gguf"), { pooling: "last", modelSha256: await sha256File(path.join(dir, "a.gguf")) });
        await embedItemsCached(embedder, changed, { cacheDir });
        expect(embedder.evaluations).toBe(1);
        await embedder.dispose();
    });
});
