/**
 * A pool of random LoRA adapters for a given base model, written as a real pool folder (manifest.json +
 * adapters/*.gguf): what the blend tests and the blend benchmark run on. Plain Float32Array math, so
 * writing 128 adapters takes well under a second.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createRng, type Rng } from "../src/data/random.js";
import { GgmlType, blockTensorName, loraATensorName, loraBTensorName, loraTargetTensorKind, type LoraTarget } from "../src/gguf/constants.js";
import { readGguf } from "../src/gguf/reader.js";
import { validateLlamaModel } from "../src/gguf/validate.js";
import { writeGguf, type GgufTensorInput } from "../src/gguf/writer.js";
import { loraAdapterMetadata } from "../src/model/loraFile.js";
import { blockMatrices } from "../src/model/weights.js";
import { fingerprintBaseModel, sha256File } from "../src/pool/fingerprint.js";
import { POOL_FORMAT_VERSION, type PoolAdapter, type PoolManifest } from "../src/pool/manifest.js";
import { l2Normalize } from "../src/pool/vectors.js";

export interface SyntheticAdapterSpec {
    rank: number;
    alpha: number;
    targets: LoraTarget[];
    matrixType?: GgmlType.F32 | GgmlType.F16;
}

export interface SyntheticPoolSpec {
    /** the base model the adapters fit */
    modelPath: string;
    adapters: SyntheticAdapterSpec[];
    /** embedding dimension of the centroids; default 16 */
    dimension?: number;
    seed: number;
    name?: string;
}

/** Writes the pool into `dir` and returns its manifest. Centroids are random unit vectors. */
export async function writeSyntheticPool(dir: string, spec: SyntheticPoolSpec): Promise<PoolManifest> {
    const hp = validateLlamaModel(await readGguf(spec.modelPath));
    const shapes = new Map(blockMatrices(hp).map((m) => [m.kind, m]));
    const rng = createRng(spec.seed);
    const uniform = (count: number, bound: number) => Float32Array.from({ length: count }, () => (2 * rng.next() - 1) * bound);
    await mkdir(path.join(dir, "adapters"), { recursive: true });

    const adapters: PoolAdapter[] = [];
    for (const [k, adapter] of spec.adapters.entries()) {
        const id = `c${String(k).padStart(3, "0")}`;
        const file = `adapters/${id}.gguf`;
        const type = adapter.matrixType ?? GgmlType.F32;
        const tensors: GgufTensorInput[] = [];
        for (let layer = 0; layer < hp.blockCount; layer++) {
            for (const target of adapter.targets) {
                const kind = loraTargetTensorKind(target);
                const { inDim, outDim } = shapes.get(kind)!;
                const baseName = blockTensorName(layer, kind);
                tensors.push(
                    { name: loraATensorName(baseName), type, dims: [inDim, adapter.rank], data: uniform(adapter.rank * inDim, 1 / Math.sqrt(inDim)) },
                    { name: loraBTensorName(baseName), type, dims: [adapter.rank, outDim], data: uniform(outDim * adapter.rank, 0.5) }
                );
            }
        }
        writeGguf(path.join(dir, file), { metadata: loraAdapterMetadata({ architecture: hp.architecture, alpha: adapter.alpha, name: id }), tensors });
        adapters.push({
            id, file, sha256: await sha256File(path.join(dir, file)), rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets,
            cluster: k, clusterSize: 1, tasks: {}, sources: {}, training: { steps: 0, lossCurve: [], lossEvery: 1 }
        });
    }
    const dimension = spec.dimension ?? 16;
    const manifest: PoolManifest = {
        format: "crayon-pool",
        formatVersion: POOL_FORMAT_VERSION,
        name: spec.name ?? "synthetic",
        createdWith: { crayon: "synthetic" },
        baseModel: await fingerprintBaseModel(spec.modelPath),
        embedder: { kind: "base-model", pooling: "mean", text: "prompt", normalized: true, dimension },
        centroids: spec.adapters.map(() => Array.from(randomUnit(rng, dimension))),
        clustering: { k: spec.adapters.length, seed: spec.seed },
        adapters
    };
    await writeFile(path.join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
}

function randomUnit(rng: Rng, dimension: number): Float32Array {
    return l2Normalize(Float32Array.from({ length: dimension }, () => 2 * rng.next() - 1));
}
