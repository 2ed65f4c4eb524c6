import os from "node:os";
import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Llama, type Token, type LlamaContext, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { CrayonError } from "../errors.js";
import { readGguf } from "../gguf/reader.js";
import { validateLlamaModel, validateLoraAdapter } from "../gguf/validate.js";

/** One LoRA adapter file applied with a scale s: y += s · (α/r) · B·A·x. */
export interface AdapterRef {
    path: string;
    scale: number;
}

/** Context options: F32 KV cache by default, so logits match the tfjs reference to ~1e-6. */
export interface ContextOptions {
    /** tokens; default 512 */
    contextSize?: number;
    adapters?: AdapterRef[];
    /** default true; the F16 cache costs ~1e-3 of logit accuracy */
    f32KvCache?: boolean;
}

/**
 * How many llama.cpp threads to use unless asked (`CRAYON_LLAMA_THREADS`): the cores that are idle — the
 * machine's cores less its load over the last minute, rounded — at least 1 and at most 2. llama.cpp's
 * threads spin while they wait for each other, so a thread on a core that is busy with something else
 * makes a whole evaluation wait for it: two threads on a busy 2-core machine ran 20–30× slower than one.
 */
export function defaultLlamaThreads(): number {
    const fromEnv = Number(process.env.CRAYON_LLAMA_THREADS);
    if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
    const idle = os.availableParallelism() - Math.round(os.loadavg()[0]!);
    return Math.max(1, Math.min(2, idle));
}

/**
 * node-llama-cpp, offline and CPU-only, with an explicit thread count. llama.cpp reports why a file
 * failed only through its log, so the runtime keeps the recent lines and puts them in its errors.
 */
export class LlamaRuntime {
    private readonly recentLog: string[] = [];
    /** node-llama-cpp keeps only the file name; adapters are validated against the base file */
    private readonly modelPaths = new WeakMap<LlamaModel, string>();

    private constructor(readonly llama: Llama) {}

    static async create({ threads = defaultLlamaThreads() }: { threads?: number } = {}): Promise<LlamaRuntime> {
        let runtime: LlamaRuntime | undefined;
        const llama = await getLlama({
            gpu: false,
            build: "never",
            skipDownload: true,
            maxThreads: threads,
            logLevel: LlamaLogLevel.warn,
            logger: (level, message) => runtime?.remember(level, message)
        });
        runtime = new LlamaRuntime(llama);
        return runtime;
    }

    /** "prebuilt llama.cpp b1234, CPU, 2 threads" */
    describe(): string {
        const { release } = this.llama.llamaCppRelease;
        const gpu = this.llama.gpu === false ? "CPU" : this.llama.gpu;
        return `${this.llama.buildType} llama.cpp ${release}, ${gpu}, ${this.llama.maxThreads} threads`;
    }

    /** Validates the file completely first: llama.cpp aborts the process on some malformed models. */
    async loadModel(modelPath: string, { vocabOnly = false }: { vocabOnly?: boolean } = {}): Promise<LlamaModel> {
        validateLlamaModel(await readGguf(modelPath));
        const model = await this.withLlamaLog(modelPath, () => this.llama.loadModel({ modelPath, vocabOnly }));
        this.modelPaths.set(model, modelPath);
        return model;
    }

    async createContext(model: LlamaModel, options: ContextOptions = {}): Promise<LlamaContext> {
        const { contextSize = 512, adapters = [], f32KvCache = true } = options;
        if (adapters.length > 0) {
            const base = await readGguf(this.modelPaths.get(model)!);
            for (const adapter of adapters) validateLoraAdapter(await readGguf(adapter.path), base);
        }
        const label = adapters.length > 0 ? adapters.map((a) => a.path).join(", ") : (model.filename ?? "model");
        return this.withLlamaLog(label, () =>
            model.createContext({
                contextSize,
                sequences: 1,
                threads: this.llama.maxThreads,
                flashAttention: false,
                ...(f32KvCache ? { experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" } : {}),
                ...(adapters.length > 0
                    ? { lora: { adapters: adapters.map((a) => ({ filePath: a.path, scale: a.scale })) } }
                    : {})
            })
        );
    }

    async dispose(): Promise<void> {
        await this.llama.dispose();
    }

    private remember(level: LlamaLogLevel, message: string): void {
        const line = message.trim();
        if (line === "") return;
        this.recentLog.push(`${level}: ${line}`);
        if (this.recentLog.length > 20) this.recentLog.shift();
    }

    private async withLlamaLog<T>(subject: string, load: () => Promise<T>): Promise<T> {
        this.recentLog.length = 0;
        try {
            return await load();
        } catch (error) {
            const reason = this.recentLog.filter((l) => /^(error|fatal|warn)/.test(l)).at(-1) ?? String(error);
            throw new CrayonError(`${subject}: llama.cpp could not load it: ${reason.replace(/\s+/g, " ")}`);
        }
    }
}

/**
 * Next-token logits after each of `positions` (indices into `tokens`), in one evaluation on a fresh
 * sequence; the caller adds BOS when the model wants one. Returns one [vocab] array per position.
 */
export async function logitsAt(context: LlamaContext, tokens: readonly Token[], positions: readonly number[]): Promise<Float32Array[]> {
    const sequence = context.getSequence();
    try {
        return await sequenceLogitsAt(sequence, tokens, positions);
    } finally {
        sequence.dispose();
    }
}

/**
 * Like `logitsAt`, on a sequence the caller keeps: `tokens` are appended to whatever the sequence already
 * holds, so scoring clears its history between items and generation feeds one token at a time.
 */
export async function sequenceLogitsAt(sequence: LlamaContextSequence, tokens: readonly Token[], positions: readonly number[]): Promise<Float32Array[]> {
    const wanted = new Set(positions);
    const input = tokens.map((token, i): ControlledEvaluateInputItem =>
        wanted.has(i) ? [token, { generateNext: { logits: true } }] : token
    );
    const results = await sequence.controlledEvaluate(input);
    return positions.map((position) => {
        const logits = results[position]?.next?.logits;
        if (logits === undefined) throw new Error(`llama.cpp returned no logits at position ${position}`);
        const out = new Float32Array(logits.size); // llama.cpp returns every vocabulary entry
        for (const [token, value] of logits) out[token] = value;
        return out;
    });
}
