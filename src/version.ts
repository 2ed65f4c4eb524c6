import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** The project root: the folder holding package.json, models/, pools/ and datasets/. */
export const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(start: string): string {
    let dir = start;
    for (;;) {
        try {
            const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string };
            if (pkg.name === "crayon") return dir;
        } catch {
            // no package.json here: keep walking up
        }
        const parent = path.dirname(dir);
        if (parent === dir) throw new Error(`cannot find the crayon package root above ${start}`);
        dir = parent;
    }
}

export function crayonVersion(): string {
    const pkg = JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { version: string };
    return pkg.version;
}
