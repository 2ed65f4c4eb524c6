import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadPool, type LoadedPool } from "../../src/pool/loadPool.js";
import { projectRoot } from "../../src/version.js";

const poolDir = path.join(projectRoot, "pools", "world");
const devicePath = path.join(projectRoot, "models", "device.gguf");

describe("the embedded pool (pools/world)", () => {
    let pool: LoadedPool;
    beforeAll(async () => {
        // checks the fingerprint against the shipped device, every adapter file's sha256 and its validity
        pool = await loadPool(poolDir, { baseModelPath: devicePath });
    });

    it("opens against the shipped device model, one adapter per centroid, domains kept apart", () => {
        expect(pool.adapterPaths.length).toBe(pool.manifest.centroids.length);
        expect(pool.manifest.clustering.purity).toBeGreaterThan(0.8);
    });

    it("every adapter lowered the held-out loss of its own cluster's items against the base model", () => {
        for (const adapter of pool.manifest.adapters) {
            const training = adapter.training!;
            expect(training.heldOutItems, adapter.id).toBeGreaterThan(0);
            expect(training.heldOutLossAdapter!, adapter.id).toBeLessThan(training.heldOutLossBase!);
        }
    });
});
