import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufKey } from "../../src/gguf/constants.js";
import { metadataString } from "../../src/gguf/metadata.js";
import { readGguf } from "../../src/gguf/reader.js";
import { validateLlamaModel } from "../../src/gguf/validate.js";
import { LlamaRuntime } from "../../src/runtime/llama.js";
import { parameterCount } from "../../src/train/engine/memoryGuard.js";
import { SHIPPED_MODELS } from "../../src/train/shippedModels.js";
import { projectRoot } from "../../src/version.js";

const shippedPath = (role: "device" | "server") => path.join(projectRoot, "models", `${role}.gguf`);

let runtime: LlamaRuntime;
beforeAll(async () => {
    runtime = await LlamaRuntime.create({ threads: 1 });
});
afterAll(async () => {
    await runtime.dispose();
});

describe("the shipped models", () => {
    for (const role of ["device", "server"] as const) {
        it(`models/${role}.gguf has its configuration's name and shape, validates and loads in node-llama-cpp`, async () => {
            const file = await readGguf(shippedPath(role));
            const hp = validateLlamaModel(file, { requireDecodable: true });
            const config = SHIPPED_MODELS[role];
            expect(metadataString(file, GgufKey.general.name)).toBe(config.name);
            expect(hp).toMatchObject(config.model);
            const model = await runtime.loadModel(shippedPath(role));
            expect(model.tokenize("Answer: A").length).toBeGreaterThan(1);
            await model.dispose();
        });
    }

    // the server knows more because it learns more data (the pool's, the forge's); twice the parameters suffice for that here
    it("the server is clearly larger than the device", async () => {
        const [device, server] = await Promise.all([readGguf(shippedPath("device")), readGguf(shippedPath("server"))]);
        const count = (file: typeof device) => parameterCount(validateLlamaModel(file));
        expect(count(server)).toBeGreaterThan(2 * count(device));
    });
});
