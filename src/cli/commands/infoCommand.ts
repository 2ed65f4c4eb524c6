import type { Command } from "commander";
import { crayonVersion } from "../../version.js";
import { describeEngine, setupEngine } from "../../train/engine/backend.js";
import { LlamaRuntime } from "../../runtime/llama.js";

/** `crayon info`: versions and the engines actually loaded — what a bug report needs. */
export function registerInfoCommand(program: Command): void {
    program
        .command("info")
        .description("print the Crayon and Node versions, the TensorFlow.js engine in use and the node-llama-cpp build")
        .action(async () => {
            const engine = await setupEngine();
            const runtime = await LlamaRuntime.create();
            try {
                const lines = [
                    ["crayon", crayonVersion()],
                    ["node", process.version],
                    ["tensorflow.js", describeEngine(engine)],
                    ["node-llama-cpp", runtime.describe()]
                ];
                for (const [name, value] of lines) process.stdout.write(`${name.padEnd(15)} ${value}\n`);
            } finally {
                await runtime.dispose();
            }
        });
}
