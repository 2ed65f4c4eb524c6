import { GgufKey, GgufValueType } from "../gguf/constants.js";
import { gguf, metadataNumber, metadataNumberArray, metadataString, metadataStringArray } from "../gguf/metadata.js";
import type { GgufFile, GgufValue } from "../gguf/types.js";
import type { BlendMethod, CombineMethod } from "./types.js";

/** What a blended adapter is made of, stored in its GGUF metadata (`crayon.blend.*`). */
export interface BlendInfo {
    method: BlendMethod;
    combine: CombineMethod;
    /** the pool's name */
    pool: string;
    /** every pool adapter in manifest order, with its weight (0 = left out): [K] */
    adapterIds: string[];
    weights: number[];
    /** the scale applied to the method's weights to give `weights`; a file without it was blended at 1 */
    strength?: number;
    /** largest rank of any adapted weight in the file */
    rank: number;
    /** sha256 of the base model the pool was built for */
    baseSha256: string;
}

/** The metadata entries for `info`, and `sha256` (the content hash) when known. */
export function blendMetadataEntries(info: BlendInfo, sha256?: string): [string, GgufValue][] {
    const keys = GgufKey.blend;
    const entries: [string, GgufValue][] = [
        [keys.method, gguf.str(info.method)],
        [keys.combine, gguf.str(info.combine)],
        [keys.pool, gguf.str(info.pool)],
        [keys.adapterIds, gguf.arr(GgufValueType.STRING, info.adapterIds)],
        [keys.weights, gguf.arr(GgufValueType.FLOAT32, info.weights)],
        [keys.rank, gguf.u32(info.rank)],
        [keys.baseSha256, gguf.str(info.baseSha256)]
    ];
    if (info.strength !== undefined) entries.push([keys.strength, gguf.f32(info.strength)]);
    if (sha256 !== undefined) entries.push([keys.sha256, gguf.str(sha256)]);
    return entries;
}

/** The blend recorded in an adapter file, or undefined for an adapter that is not a Crayon blend. */
export function readBlendInfo(file: GgufFile): (BlendInfo & { sha256: string }) | undefined {
    const keys = GgufKey.blend;
    if (!file.metadata.has(keys.method)) return undefined;
    return {
        method: metadataString(file, keys.method) as BlendMethod,
        combine: metadataString(file, keys.combine) as CombineMethod,
        pool: metadataString(file, keys.pool),
        adapterIds: metadataStringArray(file, keys.adapterIds),
        weights: metadataNumberArray(file, keys.weights, GgufValueType.FLOAT32),
        strength: file.metadata.has(keys.strength) ? metadataNumber(file, keys.strength, GgufValueType.FLOAT32) : 1,
        rank: metadataNumber(file, keys.rank, GgufValueType.UINT32),
        baseSha256: metadataString(file, keys.baseSha256),
        sha256: metadataString(file, keys.sha256)
    };
}
