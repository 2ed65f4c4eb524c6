import { GgufError } from "../gguf/errors.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLlamaModel } from "../gguf/validate.js";
import { loraTargetTensorKind, type LoraTarget } from "../gguf/constants.js";
import type { LlamaHparams } from "../gguf/llamaHparams.js";
import { blockMatrices } from "../model/weights.js";

/** [in, out] of a projection of a llama with these hyper-parameters. */
export function projectionShape(hp: LlamaHparams, target: LoraTarget): { inDim: number; outDim: number } {
    const kind = loraTargetTensorKind(target);
    const { inDim, outDim } = blockMatrices(hp).find((matrix) => matrix.kind === kind)!;
    return { inDim, outDim };
}

/**
 * The base model's hyper-parameters, after checking it is a llama whose q/k rows the Hugging Face ↔ GGUF
 * reordering applies to: RoPE over whole heads, as Hugging Face's llama has it.
 */
export function hfCompatibleLlama(base: GgufFile): LlamaHparams {
    const hp = validateLlamaModel(base);
    if (hp.ropeDimensionCount !== hp.headDim) {
        throw new GgufError(base.path, `RoPE covers ${hp.ropeDimensionCount} of each head's ${hp.headDim} dims; a Hugging Face llama rotates whole heads, so its q/k layout cannot be matched`);
    }
    return hp;
}
