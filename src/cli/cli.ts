import { Command, CommanderError, type Option } from "commander";
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
import { registerExportPeftCommand } from "./commands/exportPeftCommand.js";
import { registerWorkerCommand } from "./commands/workerCommand.js";
import { errorLine } from "./errorLine.js";

/** Builds the `crayon` program: one register function per subcommand file. */
export function createProgram(): Command {
    const program = new Command("crayon")
        .description("Customize a small on-device LLM from a few examples by instant LoRA adapter blending, with edge-server hybrid inference.")
        .version(crayonVersion())
        // set before the subcommands are added, which copy it: commander's errors become one line too
        .configureOutput({ outputError: (text, write) => write(`crayon: ${text.trim().replace(/^error: /, "").replace(/\s*\n\s*/g, " ")}; see --help\n`) });
    registerInfoCommand(program);
    registerBenchmarkCommand(program);
    registerBuildPoolCommand(program);
    registerServeCommand(program);
    registerChatCommand(program);
    registerBlendCommand(program);
    registerPretrainCommand(program);
    registerScoreCommand(program);
    registerEvalCommand(program);
    registerExportPeftCommand(program);
    registerWorkerCommand(program);
    checkRequiredOptionsLast(program);
    return program;
}

/**
 * commander reports a missing required option before an unknown one, so a typo such as `--exmples`
 * would read "required option --examples not specified". The required options are checked here instead,
 * just before the action runs, after commander has refused unknown options (with a suggestion).
 */
function checkRequiredOptionsLast(program: Command): void {
    const required = new Map<Command, Option[]>();
    for (const command of program.commands) {
        const options = command.options.filter((option) => option.mandatory);
        for (const option of options) option.mandatory = false;
        required.set(command, options);
    }
    program.hook("preAction", (_program, command) => {
        const missing = required.get(command)?.find((option) => command.getOptionValue(option.attributeName()) === undefined);
        if (missing !== undefined) command.error(`error: required option '${missing.flags}' not specified`, { code: "commander.missingMandatoryOptionValue" });
    });
}

/** Runs one command: any failure becomes one line on stderr and a non-zero exit, never a stack trace. */
export async function runCli(argv: string[]): Promise<void> {
    const program = createProgram().exitOverride();
    // a subcommand's parse errors too are thrown, not ended with process.exit, so they reach the one report
    for (const command of program.commands) command.exitOverride();
    try {
        await program.parseAsync(argv);
    } catch (error) {
        if (error instanceof CommanderError) {
            process.exitCode = error.exitCode;
            return;
        }
        reportFailure(error);
    }
}

/**
 * The bin's entry point: `runCli`, and the same one-line report for an error thrown outside the command's
 * own promise (an event handler, a stream) — which would otherwise end the process with a stack trace.
 */
export async function main(argv: string[]): Promise<void> {
    const crash = (error: unknown): void => {
        reportFailure(error);
        process.exit();
    };
    process.on("uncaughtException", crash).on("unhandledRejection", crash);
    await runCli(argv);
}

function reportFailure(error: unknown): void {
    const { line, exitCode } = errorLine(error);
    process.stderr.write(`crayon: ${line}\n`);
    if (process.env.CRAYON_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = exitCode;
}
