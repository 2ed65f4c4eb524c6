/** The writer's output as llama.cpp sees it: a validated tiny model and adapter must load and evaluate. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType } from "../../src/gguf/constants.js";
import { validateGgufFile } from "../../src/gguf/validate.js";
import { writeGguf } from "../../src/gguf/writer.js";
import { tinyAdapter, tinyModel } from "./tinyModel.js";

let dir: string;
beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crayon-gguf-llama-"));
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

describe("llama.cpp accepts the writer's files", () => {
    it("loads a validated F16 model with a LoRA adapter and evaluates finite logits", async () => {
        const modelPath = join(dir, "tiny.gguf");
        const adapterPath = join(dir, "tiny-lora.gguf");
        const { content, hparams } = tinyModel({ weightType: GgmlType.F16 });
        writeGguf(modelPath, content);
        writeGguf(adapterPath, tinyAdapter());
        await validateGgufFile(modelPath, "model");
        await validateGgufFile(adapterPath, "adapter", modelPath);

        const llamaLog: string[] = [];
        const llama = await getLlama({
            gpu: false, build: "never", skipDownload: true, maxThreads: 1,
            logLevel: LlamaLogLevel.warn, logger: (_level, message) => llamaLog.push(message)
        });
        try {
            const model = await llama.loadModel({ modelPath });
            expect(model.trainContextSize).toBe(hparams.contextLength);
            expect(model.tokens.bos).toBe(1);
            const context = await model.createContext({ contextSize: 64, lora: { adapters: [{ filePath: adapterPath }] } });
            const tokens = [model.tokens.bos!, ...model.tokenize("the cat sat")];
            const input: ControlledEvaluateInputItem[] = tokens.map((token, i) => (i < tokens.length - 1 ? token : [token, { generateNext: { logits: true } }]));
            const results = await context.getSequence().controlledEvaluate(input);
            const logits = [...results.at(-1)!.next!.logits!.values()];
            expect(logits.length).toBe(hparams.vocabSize);
            expect(logits.every(Number.isFinite)).toBe(true);
            await context.dispose();
            await model.dispose();
        } finally {
            await llama.dispose();
        }
        expect(llamaLog.join("")).not.toMatch(/error/i);
    });
});
