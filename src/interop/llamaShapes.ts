import { GgufError } from "../gguf/errors.js";
import type { GgufFile } from "../gguf/types.js";
import { validateLlamaModel } from "../gguf/validate.js";
import type { LoraTarget } from "../gguf/constants.js";
import type { LlamaHparams } from "../model/hparams.js";

/** [in, out] of each projection of a llama with these hyper-parameters. */
export function projectionShape(hp: LlamaHparams, target: LoraTarget): { inDim: number; outDim: number } {
    const d = hp.embeddingLength;
    const qOut = hp.headCount * hp.headDim;
    const kvOut = hp.headCountKv * hp.headDim;
    const ff = hp.feedForwardLength;
    const shapes: Record<LoraTarget, [number, number]> = {
        q: [d, qOut], k: [d, kvOut], v: [d, kvOut], o: [qOut, d], gate: [d, ff], up: [d, ff], down: [ff, d]
    };
    const [inDim, outDim] = shapes[target];
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
