/** Small random models, adapters and items shared by the runtime and hybrid tests. */
import * as tf from "@tensorflow/tfjs";
import { LLAMA_ARCHITECTURE } from "../../src/gguf/constants.js";
import type { QaItem } from "../../src/data/item.js";
import { OPTION_LETTERS } from "../../src/data/prompt.js";
import type { LlamaHparams } from "../../src/gguf/llamaHparams.js";
import type { LoraStack } from "../../src/model/lora.js";
import { writeLoraAdapter } from "../../src/model/loraFile.js";
import { defaultPieces, writeRandomLlamaModel } from "../../src/model/randomModel.js";
import { SPM_SPACE } from "../../src/tokenizer/spmVocab.js";

/** A 2-layer GQA model whose vocabulary has " A"…" H" as single pieces, so options are scored by one token. */
export async function writeTestModel(path: string, seed = 11): Promise<LlamaHparams> {
    return writeRandomLlamaModel(path, {
        embeddingLength: 32, blockCount: 2, headCount: 4, headCountKv: 2, feedForwardLength: 64,
        contextLength: 512, seed,
        pieces: [...defaultPieces(), ...OPTION_LETTERS.map((letter) => SPM_SPACE + letter)]
    });
}

/**
 * A rank-4 adapter on q and v with non-zero B, written to `path`; the scale is α/r = 2. Factors are N(0, 1):
 * the test model's residual stream carries its N(0, 1) token embedding, which smaller factors barely move.
 */
export async function writeTestAdapter(path: string, hp: LlamaHparams, seed: number): Promise<void> {
    const rank = 4;
    const qOut = hp.headCount * hp.headDim;
    const vOut = hp.headCountKv * hp.headDim;
    const factor = (outDim: number, s: number) => ({
        a: tf.randomNormal([hp.embeddingLength, rank], 0, 1, "float32", s) as tf.Tensor2D,
        b: tf.randomNormal([rank, outDim], 0, 1, "float32", s + 1) as tf.Tensor2D,
        scale: 2
    });
    const stack: LoraStack = Array.from({ length: hp.blockCount }, (_, layer) => ({
        q: [factor(qOut, seed + 10 * layer)],
        v: [factor(vOut, seed + 10 * layer + 5)]
    }));
    await writeLoraAdapter(path, { architecture: LLAMA_ARCHITECTURE, alpha: 2 * rank, stack, name: "test" });
    for (const block of stack) for (const factors of Object.values(block)) for (const { a, b } of factors) tf.dispose([a, b]);
}

export function testItems(): QaItem[] {
    return [
        { id: "t/0", source: "test", task: "t", question: "what is the answer of the cat?", choices: ["one", "two", "three"], answer: 1 },
        { id: "t/1", source: "test", task: "t", question: "is 2+2 = 4?", choices: ["yes", "no"], answer: 0 },
        { id: "t/2", source: "test", task: "t", question: "which question is the longest?", choices: ["a", "b", "c", "d", "e"], answer: 4, context: "the and of" }
    ];
}
