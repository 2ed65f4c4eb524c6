import { Command, CommanderError } from "commander";
import { crayonVersion } from "../version.js";
import { registerInfoCommand } from "./commands/infoCommand.js";
import { registerBenchmarkCommand } from "./commands/benchmarkCommand.js";
import { registerBuildPoolCommand } from "./commands/buildPoolCommand.js";
import { registerServeCommand } from "./commands/serveCommand.js";
import { registerChatCommand } from "./commands/chatCommand.js";
import { registerBlendCommand } from "./commands/blendCommand.js";
import { registerPretrainCommand } from "./commands/pretrainCommand.js";
import { registerScoreCommand } from "./commands/scoreCommand.js";
import { registerEvalCommand } from "./commands/evalCommand.js";
import { CrayonError } from "../errors.js";

/** Builds the `crayon` program: one register function per subcommand file. */
export function createProgram(): Command {
    const program = new Command("crayon")
        .description("Customize a small on-device LLM from a few examples by instant LoRA adapter blending, with edge-server hybrid inference.")
        .version(crayonVersion())
        .showHelpAfterError();
    registerInfoCommand(program);
    registerBenchmarkCommand(program);
    registerBuildPoolCommand(program);
    registerServeCommand(program);
    registerChatCommand(program);
    registerBlendCommand(program);
    registerPretrainCommand(program);
    registerScoreCommand(program);
    registerEvalCommand(program);
    return program;
}

/** Entry point of the bin: user-facing errors become one line on stderr and a non-zero exit. */
export async function runCli(argv: string[]): Promise<void> {
    const program = createProgram().exitOverride();
    try {
        await program.parseAsync(argv);
    } catch (error) {
        if (error instanceof CommanderError) {
            process.exitCode = error.exitCode;
            return;
        }
        if (error instanceof CrayonError) {
            process.stderr.write(`crayon: ${error.message}\n`);
            process.exitCode = error.exitCode;
            return;
        }
        throw error;
    }
}
