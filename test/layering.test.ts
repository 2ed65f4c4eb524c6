import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The folders of src/ in pipeline order: each may import only from itself and the folders before it
 * (README, Layout). A new folder must be placed here, or the test fails.
 */
const LAYERS = ["errors", "version", "defaults", "fs", "format", "gguf", "data", "tokenizer", "model", "runtime", "train", "pool", "blend", "hybrid", "eval", "interop", "ui", "cli"];

const SRC = path.resolve(import.meta.dirname, "../src");

function sourceFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) return sourceFiles(full);
        return /\.tsx?$/.test(entry.name) ? [full] : [];
    });
}

/** The top-level name under src/ a file belongs to: its folder, or its own name for a file at the top. */
function layerOf(file: string): string {
    return path.relative(SRC, file).split(path.sep)[0]!.replace(/\.(ts|tsx|js)$/, "");
}

describe("layering", () => {
    it("every src/ import goes to the same folder or one before it in the pipeline order", () => {
        const upward: string[] = [];
        for (const file of sourceFiles(SRC)) {
            const from = layerOf(file);
            expect(LAYERS, `${path.relative(SRC, file)} is in a folder the layer order does not list`).toContain(from);
            for (const [, specifier] of readFileSync(file, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
                const to = layerOf(path.resolve(path.dirname(file), specifier!));
                if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) upward.push(`${path.relative(SRC, file)} → ${specifier}`);
            }
        }
        expect(upward).toEqual([]);
    });
});
