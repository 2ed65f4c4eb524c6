import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { expect } from "vitest";
import { projectRoot } from "../../src/version.js";

/** Compiles src/ to dist/ so the bin can run; other stages' type errors must not hide whether it was emitted. */
export function compileCli(): void {
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: projectRoot });
    expect(existsSync(path.join(projectRoot, "dist", "src", "cli", "commands", "benchmarkCommand.js"))).toBe(true);
}

/** Runs `crayon <args>` through the bin, as a user would. */
export function runCrayon(args: string[]) {
    return spawnSync(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), ...args], { cwd: projectRoot, encoding: "utf8" });
}
