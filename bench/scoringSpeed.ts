import path from "node:path";
import { loadBenchmark } from "../src/data/benchmark/loadBenchmark.js";
import { scoredAs, type QaItem } from "../src/data/item.js";
import { projectRoot } from "../src/version.js";
import { ItemEncoder } from "../src/runtime/encode.js";
import { LlamaRuntime } from "../src/runtime/llama.js";
import { ItemScorer } from "../src/runtime/scoring.js";

/**
 * Scoring throughput on the embedded device model: the world's user-task test items, each scored by its
 * option letter (one evaluation of the lettered prompt) and by option likelihood (the question evaluated
 * once, each option appended to its KV cache). Also the cloze cost had every option been scored from
 * scratch with its question, which is what sharing the question's evaluation saves.
 */
export async function runScoringBench(): Promise<void> {
    const modelPath = path.join(projectRoot, "models", "device.gguf");
    const items = (await loadBenchmark("world")).userTasks.flatMap((task) => task.test);
    const runtime = await LlamaRuntime.create({ threads: 2 });
    try {
        const model = await runtime.loadModel(modelPath);
        const context = await runtime.createContext(model);
        const scorer = new ItemScorer(context.getSequence(), new ItemEncoder(model, modelPath));
        const rate = async (scored: readonly QaItem[]) => {
            await scorer.scoreAll(scored.slice(0, 20)); // warm-up
            const start = performance.now();
            await scorer.scoreAll(scored);
            return scored.length / ((performance.now() - start) / 1000);
        };
        const letter = await rate(scoredAs(items.map(({ scoring: _, ...item }) => item), "letter"));
        const cloze = await rate(scoredAs(items, "cloze"));
        // each option alone with its question: what scoring costs when the question is evaluated once per option
        const perOption = await rate(items.flatMap((item) => item.choices.map((choice) => ({ ...item, choices: [choice], answer: 0, scoring: "cloze" as const }))));
        const options = items.reduce((n, item) => n + item.choices.length, 0) / items.length;
        const unshared = perOption / options;
        console.log(`${items.length} items, ${options.toFixed(2)} options each, 2 llama.cpp threads`);
        console.log(`letter scoring: ${letter.toFixed(0)} items/s`);
        console.log(`cloze scoring:  ${cloze.toFixed(0)} items/s (${(letter / cloze).toFixed(2)}× letter's time per item)`);
        console.log(`cloze, the question evaluated again for each option: ${unshared.toFixed(0)} items/s; evaluating it once is ${(cloze / unshared).toFixed(2)}× faster`);
        await context.dispose();
    } finally {
        await runtime.dispose();
    }
}
