import type { Command } from "commander";
import { crayonVersion } from "../../version.js";
import { describeEngine, setupEngine } from "../../train/engine/backend.js";
import { chooseTrainingEngine } from "../../train/ggml/engineChoice.js";
import { describeGgml } from "../../train/ggml/selfCheck.js";
import { LlamaRuntime } from "../../runtime/llama.js";

/** `crayon info`: versions and the engines actually loaded — what a bug report needs. */
export function registerInfoCommand(program: Command): void {
    program
        .command("info")
        .description("print the Crayon and Node versions, the training engine, the TensorFlow.js and ggml builds and the node-llama-cpp build")
        .action(async () => {
            const training = await chooseTrainingEngine(undefined);
            const engine = await setupEngine();
            const runtime = await LlamaRuntime.create();
            try {
                const lines = [
                    ["crayon", crayonVersion()],
                    ["node", process.version],
                    ["training", training.line.replace(/^training engine: /, "")],
                    ["tensorflow.js", describeEngine(engine)],
                    ["ggml", training.ggml === null ? "not checked (another engine was asked for)" : describeGgml(training.ggml)],
                    ["node-llama-cpp", runtime.describe()]
                ];
                for (const [name, value] of lines) process.stdout.write(`${name.padEnd(15)} ${value}\n`);
            } finally {
                await runtime.dispose();
            }
        });
}
