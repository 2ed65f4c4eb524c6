import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readAdapterFactors } from "../../src/blend/adapterFactors.js";
import { GgmlType, loraATensorName, loraBTensorName } from "../../src/gguf/constants.js";
import { readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { writeSyntheticPool } from "../../bench/syntheticPool.js";
import { writeTestModel } from "../runtime/fixtures.js";

let dir: string;
let modelPath: string;
let adapterPaths: string[];

beforeAll(async () => {
    await tf.setBackend("cpu");
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-factors-"));
    modelPath = path.join(dir, "base.gguf");
    await writeTestModel(modelPath);
    const manifest = await writeSyntheticPool(path.join(dir, "pool"), {
        modelPath, seed: 2, adapters: [{ rank: 3, alpha: 6, targets: ["q", "down"] }, { rank: 2, alpha: 0, targets: ["v"], matrixType: GgmlType.F16 }]
    });
    adapterPaths = manifest.adapters.map((a) => path.join(dir, "pool", a.file));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readAdapterFactors", () => {
    it("decodes every factor from one read, as readTensorF32 does, with llama.cpp's scale", async () => {
        const base = await readGguf(modelPath);
        for (const [k, file] of adapterPaths.entries()) {
            const factors = readAdapterFactors(file, base);
            const gguf = await readGguf(file);
            expect(factors.matrices).toHaveLength(k === 0 ? 4 : 2);
            for (const m of factors.matrices) {
                expect(m.scale).toBe(k === 0 ? 6 / 3 : 1); // α/r, or 1 when α = 0
                expect(Array.from(m.a)).toEqual(Array.from(await readTensorF32(gguf, loraATensorName(m.baseName))));
                expect(Array.from(m.b)).toEqual(Array.from(await readTensorF32(gguf, loraBTensorName(m.baseName))));
                expect(m.a.length).toBe(m.rank * m.inDim);
                expect(m.b.length).toBe(m.outDim * m.rank);
            }
        }
    });

    it("names the file when it is truncated or missing", async () => {
        const truncated = path.join(dir, "truncated.gguf");
        writeFileSync(truncated, readFileSync(adapterPaths[0]!).subarray(0, 200));
        expect(() => readAdapterFactors(truncated)).toThrow(/truncated\.gguf: .*(file ends inside|past the end)/);
        expect(() => readAdapterFactors(path.join(dir, "missing.gguf"))).toThrow(/missing\.gguf: cannot read the file \(ENOENT\)/);
    });
});
