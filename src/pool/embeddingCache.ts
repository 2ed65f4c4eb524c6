import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { hashString } from "../data/random.js";
import type { QaItem } from "../data/item.js";
import type { Embedder } from "./embed.js";

interface CacheHeader {
    modelSha256: string;
    pooling: string;
    dimension: number;
    /** item id and a hash of the text that was embedded, in the order of the vectors */
    entries: { id: string; textHash: number }[];
}

/**
 * Embeddings of items on disk, one file per base model and pooling: a u32 header length, the JSON
 * header, then the float32 vectors. The file name and the header both carry the model's sha256, so a
 * changed model never reuses stale vectors; an item whose text changed under the same id is re-embedded.
 */
export function embeddingCacheFile(cacheDir: string, modelSha256: string, pooling: string): string {
    return path.join(cacheDir, `embeddings-${modelSha256.slice(0, 16)}-${pooling}.bin`);
}

async function readCache(file: string, modelSha256: string, pooling: string): Promise<Map<string, { textHash: number; vector: Float32Array }>> {
    const cached = new Map<string, { textHash: number; vector: Float32Array }>();
    const bytes = await readFile(file).catch(() => null);
    if (bytes === null || bytes.length < 4) return cached;
    const headerLength = bytes.readUInt32LE(0);
    let header: CacheHeader;
    try {
        header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8")) as CacheHeader;
    } catch {
        return cached; // unreadable: embed afresh and overwrite
    }
    if (header.modelSha256 !== modelSha256 || header.pooling !== pooling) return cached;
    const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 4 + headerLength, bytes.byteOffset + bytes.length));
    if (data.length !== header.entries.length * header.dimension) return cached;
    header.entries.forEach(({ id, textHash }, i) => cached.set(id, { textHash, vector: data.slice(i * header.dimension, (i + 1) * header.dimension) }));
    return cached;
}

async function writeCache(file: string, header: CacheHeader, vectors: readonly Float32Array[]): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    let json = Buffer.from(JSON.stringify(header), "utf8");
    json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
    const length = Buffer.alloc(4);
    length.writeUInt32LE(json.length);
    writeFileAtomic(file, [length, json, ...vectors.map((v) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength))]);
}

export interface CachedEmbeddingOptions {
    cacheDir: string;
    /** called after each batch of newly embedded items: (done, toEmbed) */
    onProgress?: (done: number, total: number) => void;
    /** items embedded between cache writes, so a killed run keeps most of its work. Default 256 */
    saveEvery?: number;
}

/** The embedder's vectors for `items` ([n][dimension]), reading what the cache has and embedding the rest. */
export async function embedItemsCached(embedder: Embedder, items: readonly QaItem[], { cacheDir, onProgress, saveEvery = 256 }: CachedEmbeddingOptions): Promise<Float32Array[]> {
    const file = embeddingCacheFile(cacheDir, embedder.modelSha256, embedder.spec.pooling);
    const cached = await readCache(file, embedder.modelSha256, embedder.spec.pooling);
    const texts = items.map((item) => embedder.itemText(item));
    const hashes = texts.map(hashString);
    const vectors: (Float32Array | undefined)[] = items.map((item, i) => {
        const hit = cached.get(item.id);
        return hit !== undefined && hit.textHash === hashes[i] && hit.vector.length === embedder.spec.dimension ? hit.vector : undefined;
    });
    const missing = vectors.flatMap((v, i) => (v === undefined ? [i] : []));
    const save = () => {
        const merged = new Map(cached);
        items.forEach((item, i) => {
            if (vectors[i] !== undefined) merged.set(item.id, { textHash: hashes[i]!, vector: vectors[i]! });
        });
        const entries = [...merged].map(([id, { textHash }]) => ({ id, textHash }));
        const header: CacheHeader = { modelSha256: embedder.modelSha256, pooling: embedder.spec.pooling, dimension: embedder.spec.dimension, entries };
        return writeCache(file, header, [...merged.values()].map((entry) => entry.vector));
    };
    for (let start = 0; start < missing.length; start += saveEvery) {
        const batch = missing.slice(start, start + saveEvery);
        const embedded = await embedder.embed(batch.map((i) => texts[i]!));
        batch.forEach((index, j) => (vectors[index] = embedded[j]));
        await save();
        onProgress?.(Math.min(start + saveEvery, missing.length), missing.length);
    }
    return vectors as Float32Array[];
}
