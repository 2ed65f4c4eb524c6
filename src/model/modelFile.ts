import { GgmlType, GgufKey, GENERAL_TYPE_MODEL } from "../gguf/constants.js";
import { gguf } from "../gguf/metadata.js";
import { readGguf } from "../gguf/reader.js";
import type { GgufFile, GgufMetadata, GgufValue } from "../gguf/types.js";
import { validateLlamaModel } from "../gguf/validate.js";
import { writeGguf } from "../gguf/writer.js";
import { hparamsToMetadata, type LlamaHparams } from "../gguf/llamaHparams.js";
import { weightsFromGguf, weightsToGgufTensors, type LlamaWeights } from "./weights.js";

export interface LoadedLlamaModel {
    file: GgufFile;
    hp: LlamaHparams;
    weights: LlamaWeights;
}

/** Reads, validates and loads a llama GGUF into tfjs tensors on the current backend. */
export async function loadLlamaModel(path: string): Promise<LoadedLlamaModel> {
    const file = await readGguf(path);
    const hp = validateLlamaModel(file);
    return { file, hp, weights: await weightsFromGguf(file, hp) };
}

/** The `tokenizer.*` entries of a model, to write them unchanged into a model trained from it. */
export function tokenizerMetadataOf(file: GgufFile): [string, GgufValue][] {
    return [...file.metadata].filter(([key]) => key.startsWith("tokenizer."));
}

export interface LlamaModelToWrite {
    hp: LlamaHparams;
    weights: LlamaWeights;
    tokenizer: Iterable<[string, GgufValue]>;
    name: string;
    /** matrices' type; norms are always F32 */
    matrixType?: GgmlType.F32 | GgmlType.F16;
    /** extra entries, e.g. training provenance under `crayon.*` */
    extra?: Iterable<[string, GgufValue]>;
}

/** Writes a complete llama model atomically, then re-reads and validates it. */
export async function writeLlamaModel(path: string, model: LlamaModelToWrite): Promise<void> {
    const metadata: GgufMetadata = new Map([
        [GgufKey.general.architecture, gguf.str(model.hp.architecture)],
        [GgufKey.general.type, gguf.str(GENERAL_TYPE_MODEL)],
        [GgufKey.general.name, gguf.str(model.name)],
        ...hparamsToMetadata(model.hp),
        ...model.tokenizer,
        ...(model.extra ?? [])
    ]);
    writeGguf(path, { metadata, tensors: weightsToGgufTensors(model.hp, model.weights, model.matrixType) });
    validateLlamaModel(await readGguf(path));
}
