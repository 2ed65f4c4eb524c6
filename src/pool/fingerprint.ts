import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import path from "node:path";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel } from "../gguf/validate.js";
import type { BaseModelFingerprint } from "./manifest.js";

/** sha256 of a whole file, hex, streamed (models can be large). */
export async function sha256File(file: string): Promise<string> {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    return hash.digest("hex");
}

/** Identifies a base model by content and shape; a validated llama GGUF is required. */
export async function fingerprintBaseModel(modelPath: string): Promise<BaseModelFingerprint> {
    const hp = validateLlamaModel(await readGguf(modelPath));
    return {
        sha256: await sha256File(modelPath),
        architecture: hp.architecture,
        embeddingLength: hp.embeddingLength,
        blockCount: hp.blockCount,
        vocabSize: hp.vocabSize,
        fileName: path.basename(modelPath)
    };
}
