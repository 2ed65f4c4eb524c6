import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, TensorName, blockTensorName } from "../../src/gguf/constants.js";
import { readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { validateGgufFile, validateLlamaModel, validateLoraAdapter } from "../../src/gguf/validate.js";
import { writeGguf } from "../../src/gguf/writer.js";
import { readLlamaHparams } from "../../src/gguf/llamaHparams.js";
import { tinyAdapter, tinyModel } from "./tinyModel.js";

let dir: string;
beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crayon-gguf-validate-"));
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("validateLlamaModel", () => {
    it("accepts a valid GQA model and returns its hyper-parameters", async () => {
        const { content, hparams } = tinyModel({ blockCount: 3 });
        const path = join(dir, "valid.gguf");
        writeGguf(path, content);
        const file = await readGguf(path);
        expect(validateLlamaModel(file, { requireDecodable: true })).toEqual(hparams);
        expect(hparams.headCountKv).toBeLessThan(hparams.headCount);
        expect(await validateGgufFile(path, "model")).toEqual(hparams);
        const embedding = content.tensors.find((t) => t.name === TensorName.tokenEmbd)!;
        expect(await readTensorF32(file, TensorName.tokenEmbd)).toEqual(embedding.data);
    });

    it("accepts tied embeddings and F16 weights", async () => {
        const { content, hparams } = tinyModel({ tiedOutput: true, weightType: GgmlType.F16 });
        const path = join(dir, "tied-f16.gguf");
        writeGguf(path, content);
        const file = await readGguf(path);
        expect(readLlamaHparams(file).tiedOutput).toBe(true);
        expect(validateLlamaModel(file)).toEqual(hparams);
        expect(file.tensors.find((t) => t.name === blockTensorName(0, "attn_q"))!.type).toBe(GgmlType.F16);
    });
});

describe("validateLoraAdapter", () => {
    it("accepts a valid adapter against its base model and describes it", async () => {
        const basePath = join(dir, "base.gguf");
        writeGguf(basePath, tinyModel().content);
        const adapterPath = join(dir, "adapter.gguf");
        writeGguf(adapterPath, tinyAdapter());
        const expected = {
            architecture: "llama",
            alpha: 8,
            ranks: [4],
            targets: {
                [blockTensorName(0, "attn_q")]: { rank: 4, in: 32, out: 32 },
                [blockTensorName(0, "attn_v")]: { rank: 4, in: 32, out: 16 },
                [blockTensorName(0, "ffn_down")]: { rank: 4, in: 48, out: 32 }
            }
        };
        expect(validateLoraAdapter(await readGguf(adapterPath), await readGguf(basePath))).toEqual(expected);
        expect(await validateGgufFile(adapterPath, "adapter")).toEqual(expected);
        expect(await validateGgufFile(adapterPath, "adapter", basePath)).toEqual(expected);
    });

    it("accepts the transposed token_embd layout and mixed ranks", async () => {
        const basePath = join(dir, "base-embd.gguf");
        const { content, hparams } = tinyModel();
        writeGguf(basePath, content);
        const adapterPath = join(dir, "adapter-embd.gguf");
        writeGguf(adapterPath, tinyAdapter([
            { base: TensorName.tokenEmbd, a: [2, hparams.vocabSize], b: [2, hparams.embeddingLength] },
            { base: TensorName.output, a: [hparams.embeddingLength, 8], b: [8, hparams.vocabSize] }
        ]));
        const info = validateLoraAdapter(await readGguf(adapterPath), await readGguf(basePath));
        expect(info.ranks).toEqual([2, 8]);
        expect(info.targets[TensorName.tokenEmbd]).toEqual({ rank: 2, in: hparams.vocabSize, out: hparams.embeddingLength });
    });
});
