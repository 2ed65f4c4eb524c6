import { stat } from "node:fs/promises";
import type { LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import type { AdapterRef, LlamaRuntime } from "./llama.js";

/** A loaded model with one context for one adapter set, and that context's single sequence. */
export interface ModelSession {
    modelPath: string;
    adapters: readonly AdapterRef[];
    model: LlamaModel;
    context: LlamaContext;
    sequence: LlamaContextSequence;
}

export interface ModelCacheOptions {
    /** contexts kept alive at once (each holds a KV cache); default 4 */
    maxContexts?: number;
    /**
     * distinct adapter files one loaded model may have taken in before it is disposed and loaded again;
     * default 16. node-llama-cpp caches adapters by path and frees them only with their model.
     */
    maxAdapterFiles?: number;
    /** tokens per context; default: the model's training context length */
    contextSize?: number;
}

interface LoadedModel {
    model: LlamaModel;
    /** adapter path → "mtime:size" when it was loaded: a rewritten file needs a fresh model */
    adapterFiles: Map<string, string>;
}

/**
 * An LRU over (model, adapter set). Memory is bounded by: each model file once, plus at most
 * `maxAdapterFiles` adapter files per model (≈ the adapter's size each), plus `maxContexts` KV caches.
 * A session stays valid until a later `session` call evicts it: use one session at a time.
 */
export class ModelCache {
    private readonly models = new Map<string, LoadedModel>();
    /** key → session, least recently used first */
    private readonly sessions = new Map<string, ModelSession>();
    private readonly maxContexts: number;
    private readonly maxAdapterFiles: number;
    private readonly contextSize: number | undefined;
    /** serializes loads: two callers asking for the same set must not load it twice */
    private pending: Promise<unknown> = Promise.resolve();
    /** how many times a model was disposed to free its adapters: for tests and diagnostics */
    modelReloads = 0;

    constructor(private readonly runtime: LlamaRuntime, options: ModelCacheOptions = {}) {
        this.maxContexts = options.maxContexts ?? 4;
        this.maxAdapterFiles = options.maxAdapterFiles ?? 16;
        this.contextSize = options.contextSize;
    }

    session(modelPath: string, adapters: readonly AdapterRef[] = []): Promise<ModelSession> {
        const next = this.pending.then(() => this.open(modelPath, adapters));
        this.pending = next.catch(() => undefined);
        return next;
    }

    async dispose(): Promise<void> {
        await this.pending;
        for (const path of [...this.models.keys()]) await this.disposeModel(path);
    }

    private async open(modelPath: string, adapters: readonly AdapterRef[]): Promise<ModelSession> {
        const key = sessionKey(modelPath, adapters);
        const cached = this.sessions.get(key);
        if (cached !== undefined) {
            this.sessions.delete(key);
            this.sessions.set(key, cached);
            return cached;
        }
        const loaded = await this.modelFor(modelPath, adapters);
        const contextSize = this.contextSize ?? loaded.model.trainContextSize;
        const context = await this.runtime.createContext(loaded.model, { contextSize, adapters: [...adapters] });
        const session: ModelSession = { modelPath, adapters, model: loaded.model, context, sequence: context.getSequence() };
        this.sessions.set(key, session);
        while (this.sessions.size > this.maxContexts) {
            const [oldestKey, oldest] = this.sessions.entries().next().value!;
            this.sessions.delete(oldestKey);
            await oldest.context.dispose();
        }
        return session;
    }

    /** The loaded model, disposed and loaded again first if the new adapters would pass the bound or changed on disk. */
    private async modelFor(modelPath: string, adapters: readonly AdapterRef[]): Promise<LoadedModel> {
        const versions = new Map<string, string>();
        for (const { path } of adapters) {
            const info = await stat(path);
            versions.set(path, `${info.mtimeMs}:${info.size}`);
        }
        let loaded = this.models.get(modelPath);
        if (loaded !== undefined) {
            const current = loaded;
            const changed = [...versions].some(([path, version]) => current.adapterFiles.has(path) && current.adapterFiles.get(path) !== version);
            const added = [...versions.keys()].filter((path) => !current.adapterFiles.has(path)).length;
            if (changed || current.adapterFiles.size + added > this.maxAdapterFiles) {
                await this.disposeModel(modelPath);
                this.modelReloads++;
                loaded = undefined;
            }
        }
        if (loaded === undefined) {
            loaded = { model: await this.runtime.loadModel(modelPath), adapterFiles: new Map() };
            this.models.set(modelPath, loaded);
        }
        for (const [path, version] of versions) loaded.adapterFiles.set(path, version);
        return loaded;
    }

    private async disposeModel(modelPath: string): Promise<void> {
        for (const [key, session] of [...this.sessions]) {
            if (session.modelPath !== modelPath) continue;
            this.sessions.delete(key);
            await session.context.dispose();
        }
        await this.models.get(modelPath)?.model.dispose();
        this.models.delete(modelPath);
    }
}

function sessionKey(modelPath: string, adapters: readonly AdapterRef[]): string {
    return JSON.stringify([modelPath, adapters.map(({ path, scale }) => [path, scale])]);
}
