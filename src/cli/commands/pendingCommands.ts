import type { Command } from "commander";
import { CrayonError } from "../../errors.js";

/** Subcommands whose implementation has not landed yet: they say so and exit non-zero. */
const pendingCommands: ReadonlyArray<{ name: string; summary: string }> = [
    { name: "eval", summary: "run the customization benchmark with hybrid routing" }
];

export function registerPendingCommands(program: Command): void {
    for (const { name, summary } of pendingCommands) {
        program
            .command(name)
            .description(`${summary} (not built yet)`)
            .allowUnknownOption()
            .allowExcessArguments()
            .action(() => {
                throw new CrayonError(`${name}: not built yet`);
            });
    }
}
