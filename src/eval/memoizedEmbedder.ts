import type { EmbedTexts } from "../hybrid/taskScope.js";
import type { Embedder } from "../pool/embed.js";

/**
 * The pool's embedder with every text embedded at most once per run: the same prompt serves the blend
 * (the k examples), the task scope and the routing query. Texts not seen yet are embedded in one call, so
 * a batched embedder gets whole batches.
 */
export function memoizedEmbed(embedder: Embedder, onEmbedded?: (count: number) => void): EmbedTexts {
    const vectors = new Map<string, Float32Array>();
    return async (texts) => {
        const missing = [...new Set(texts.filter((text) => !vectors.has(text)))];
        if (missing.length > 0) {
            const embedded = await embedder.embed(missing);
            missing.forEach((text, i) => vectors.set(text, embedded[i]!));
            onEmbedded?.(missing.length);
        }
        return texts.map((text) => vectors.get(text)!);
    };
}
