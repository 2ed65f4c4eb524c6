import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { QaItem } from "../../src/data/item.js";
import { answerContinuation, clozeContinuation, formatPrompt, OPTION_LETTERS, promptText } from "../../src/data/prompt.js";
import { TokenType } from "../../src/gguf/constants.js";
import { writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { ItemEncoder } from "../../src/runtime/encode.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { buildSpmVocab, SPM_SPACE, type SpmVocab } from "../../src/tokenizer/spmVocab.js";
import { setupEngine } from "../../src/train/engine/backend.js";
import { SHIPPED_MODELS } from "../../src/train/shippedModels.js";
import { itemSequence } from "../../src/train/sequences.js";
import { vocabularyPieces } from "../../src/train/pretrainer.js";

// The vocabulary the shipped models get: learnt from the world's pre-training corpus, then checked on every
// prompt of the world — the test items and out-of-scope queries included, which the corpus never shows.
let dir: string;
let runtime: LlamaRuntime;
let items: QaItem[];
let vocab: SpmVocab;
let byteTokens: Set<number>;
let vocabOnly: LlamaModel;
let full: LlamaModel;
let modelPath: string;

beforeAll(async () => {
    await setupEngine();
    dir = await mkdtemp(path.join(tmpdir(), "crayon-tokenizer-"));
    const world = await loadBenchmark("world");
    items = [...world.pretrain!, ...world.userTasks.flatMap((t) => t.test), ...world.outOfScope];
    const pieces = vocabularyPieces(world.pretrain!, SHIPPED_MODELS.device.vocabPieces, SHIPPED_MODELS.device.scoring);
    vocab = buildSpmVocab(pieces);
    byteTokens = new Set(vocab.tokenTypes.flatMap((type, id) => (type === TokenType.BYTE ? [id] : [])));
    modelPath = path.join(dir, "world-vocab.gguf");
    // weights are random: only the tokenizer matters, and a full load needs a complete model
    await writeRandomLlamaModel(modelPath, { embeddingLength: 32, blockCount: 1, headCount: 2, headCountKv: 1, feedForwardLength: 64, seed: 1, pieces });
    runtime = await LlamaRuntime.create({ threads: 1 });
    vocabOnly = await runtime.loadModel(modelPath, { vocabOnly: true });
    full = await runtime.loadModel(modelPath);
});
afterAll(async () => {
    await runtime?.dispose();
    await rm(dir, { recursive: true, force: true });
});

describe("the world vocabulary in llama.cpp", () => {
    it("round-trips every item of the world as the models read it (cloze: question and answer text), without byte fallback", () => {
        for (const item of items) {
            expect(item.scoring, item.id).toBe("cloze");
            const text = promptText(item) + clozeContinuation(item.choices[item.answer]!);
            const tokens = vocabOnly.tokenize(text);
            expect(vocabOnly.detokenize(tokens), item.id).toBe(text);
            expect(tokens.filter((token) => byteTokens.has(token)), item.id).toEqual([]);
        }
    });

    it("makes each option letter after \"Answer:\" one token: \" A\" … \" H\"", () => {
        const answer = vocabOnly.tokenize("Answer:");
        for (const letter of OPTION_LETTERS) {
            const tokens = vocabOnly.tokenize(`Answer: ${letter}`);
            expect(tokens.slice(0, -1), letter).toEqual(answer);
            expect(vocab.tokens[tokens.at(-1)!]).toBe(SPM_SPACE + letter);
        }
    });

    it("trains on exactly the token ids a full model load reads for the same text", () => {
        const encoder = new ItemEncoder(vocabOnly, modelPath);
        const eos = vocabOnly.tokens.eos!;
        expect(full.tokens.shouldPrependBosToken).toBe(true);
        for (const item of items) {
            const trained = itemSequence(encoder.encode(item), "all", eos).tokens;
            const read = [full.tokens.bos!, ...full.tokenize(formatPrompt(item) + answerContinuation(item.answer)), full.tokens.eos!];
            expect(trained, item.id).toEqual(read);
        }
    });
});
