import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { GgmlType, loraATensorName, loraBTensorName } from "../gguf/constants.js";
import { readGgufBytes } from "../gguf/reader.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLoraAdapter } from "../gguf/validate.js";
import { encodeGguf, writeGgufChunks, type GgufTensorInput } from "../gguf/writer.js";
import { loraAdapterMetadata } from "../model/loraFile.js";
import type { LoraMatrixFactors } from "./adapterFactors.js";
import { blendMetadataEntries, type BlendInfo } from "./blendMetadata.js";

/** Hex digits of the content hash in a blended adapter's file name. */
const NAME_HASH_LENGTH = 12;

export interface WrittenBlend {
    path: string;
    /** sha256 over the blend's description and every factor's name, shape and float32 data, hex */
    sha256: string;
}

/**
 * Writes the blend as one F32 LoRA adapter with α = 0, so llama.cpp applies each weight's B·A at exactly the
 * context's scale whatever its rank. node-llama-cpp caches adapters by path, so a folder `out` gets a file
 * named by the content hash (`blend-<sha12>.gguf`): a different blend never reuses a stale path. A `.gguf`
 * `out` is written as given, with the hash in `crayon.blend.sha256`. The encoded header is parsed back and
 * validated (against `base` when given) before anything is written, so a failed check leaves no file.
 */
export function writeBlendedAdapter(out: string, architecture: string, matrices: readonly LoraMatrixFactors[], info: BlendInfo, base?: GgufFile): WrittenBlend {
    const tensors: GgufTensorInput[] = matrices.flatMap(({ baseName, rank, inDim, outDim, a, b, scale }) => [
        { name: loraATensorName(baseName), type: GgmlType.F32, dims: [inDim, rank], data: a },
        { name: loraBTensorName(baseName), type: GgmlType.F32, dims: [rank, outDim], data: scale === 1 ? b : b.map((v) => v * scale) }
    ]);
    const sha256 = contentHash(info, tensors);
    let file = out;
    if (path.extname(out).toLowerCase() !== ".gguf") {
        mkdirSync(out, { recursive: true });
        file = path.join(out, `blend-${sha256.slice(0, NAME_HASH_LENGTH)}.gguf`);
    }
    const metadata = loraAdapterMetadata({ architecture, alpha: 0, name: `crayon blend of ${info.pool}`, extra: blendMetadataEntries(info, sha256) });
    // header first, then the factors' bytes (views, not copies): the header is checked before anything is written
    const chunks = [...encodeGguf(file, { metadata, tensors })];
    const fileSize = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
    validateLoraAdapter(readGgufBytes(file, chunks[0]!, fileSize), base);
    writeGgufChunks(file, chunks, { durable: false }); // re-made from the pool in milliseconds: no fsync
    return { path: file, sha256 };
}

function contentHash(info: BlendInfo, tensors: readonly GgufTensorInput[]): string {
    const hash = createHash("sha256");
    hash.update(JSON.stringify(info));
    for (const { name, dims, data } of tensors) {
        hash.update(`${name}[${dims.join(",")}]`);
        hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    return hash.digest("hex");
}
