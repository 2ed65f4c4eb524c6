/** Runs the CLI in the test's own process and collects what it prints, for the command tests. */
import { expect, vi } from "vitest";
import { runCli } from "../../src/cli/cli.js";

export interface CrayonRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** `crayon <args>` in this process: its stdout, stderr and exit code. */
export async function runCrayon(args: readonly string[]): Promise<CrayonRun> {
    let stdout = "";
    let stderr = "";
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
    const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
    process.exitCode = 0;
    try {
        await runCli(["node", "crayon", ...args]);
    } finally {
        out.mockRestore();
        err.mockRestore();
    }
    const code = Number(process.exitCode ?? 0);
    process.exitCode = 0;
    return { code, stdout, stderr };
}

/** A refusal: non-zero exit, nothing on stdout, one line on stderr matching `pattern`. */
export function expectOneLineError(result: CrayonRun, pattern: RegExp): void {
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(pattern);
}
