import path from "node:path";
import { readBlendInfo } from "../blend/blendMetadata.js";
import { readGguf } from "../gguf/reader.js";

/**
 * How chat names the active adapter: its file name and, for a Crayon blend, the pool and the largest
 * blend weights ("blend-1a2b3c4d5e6f.gguf · crayon blend of pool world · c03 0.52, c01 0.31, c07 0.09").
 */
export async function describeAdapter(adapterPath: string, shownWeights = 3): Promise<string> {
    const name = path.basename(adapterPath);
    const blend = readBlendInfo(await readGguf(adapterPath));
    if (blend === undefined) return name;
    const top = blend.adapterIds
        .map((id, i) => ({ id, weight: blend.weights[i]! }))
        .filter(({ weight }) => weight > 0)
        .sort((a, b) => b.weight - a.weight)
        .slice(0, shownWeights)
        .map(({ id, weight }) => `${id} ${weight.toFixed(2)}`);
    return `${name} · ${blend.method} blend of pool ${blend.pool} · ${top.join(", ")}`;
}
