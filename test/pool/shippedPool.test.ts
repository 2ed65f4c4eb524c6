import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPool } from "../../src/pool/loadPool.js";
import { projectRoot } from "../../src/version.js";

const poolDir = path.join(projectRoot, "pools", "world");
const devicePath = path.join(projectRoot, "models", "device.gguf");

describe("the embedded pool (pools/world)", () => {
    it("opens against the shipped device model: same fingerprint, every adapter file as recorded and valid", async () => {
        const pool = await loadPool(poolDir, { baseModelPath: devicePath });
        expect(pool.adapterPaths.length).toBe(pool.manifest.centroids.length);
        expect(pool.manifest.clustering.purity).toBeGreaterThan(0.8);
    });

    it("every adapter lowered the held-out loss of its own cluster's items against the base model", async () => {
        const { manifest } = await loadPool(poolDir);
        for (const adapter of manifest.adapters) {
            const training = adapter.training!;
            expect(training.heldOutItems, adapter.id).toBeGreaterThan(0);
            expect(training.heldOutLossAdapter!, adapter.id).toBeLessThan(training.heldOutLossBase!);
        }
    });
});
