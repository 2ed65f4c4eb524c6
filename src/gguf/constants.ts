/**
 * Every GGUF key, value type, tensor type and tensor name the project uses, defined once.
 * Keys that llama.cpp prefixes with the architecture name are functions of that name.
 */

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_VERSION = 3;
/** Version 2 has the same layout as version 3 (v3 only allowed big-endian files, which we reject). */
export const GGUF_MIN_VERSION = 2;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_NAME is 64 bytes including the terminating NUL. */
export const GGML_MAX_NAME_BYTES = 63;
export const GGML_MAX_DIMS = 4;

export enum GgufValueType {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12
}

/** Tensor element types as numbered by ggml; ids 4, 5, 31–33 and 36–38 were removed upstream. */
export enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
    NVFP4 = 40,
    Q1_0 = 41,
    Q2_0 = 42
}

/** How a ggml type packs elements: `blockSize` elements take `blockBytes` bytes; a row holds whole blocks. */
export interface GgmlTypeLayout {
    blockSize: number; // elements per block
    blockBytes: number; // bytes per block
}

/** Measured from llama.cpp's own ggml_blck_size / ggml_type_size. */
export const GGML_TYPE_LAYOUT: Readonly<Record<GgmlType, GgmlTypeLayout>> = {
    [GgmlType.F32]: { blockSize: 1, blockBytes: 4 },
    [GgmlType.F16]: { blockSize: 1, blockBytes: 2 },
    [GgmlType.Q4_0]: { blockSize: 32, blockBytes: 18 },
    [GgmlType.Q4_1]: { blockSize: 32, blockBytes: 20 },
    [GgmlType.Q5_0]: { blockSize: 32, blockBytes: 22 },
    [GgmlType.Q5_1]: { blockSize: 32, blockBytes: 24 },
    [GgmlType.Q8_0]: { blockSize: 32, blockBytes: 34 },
    [GgmlType.Q8_1]: { blockSize: 32, blockBytes: 36 },
    [GgmlType.Q2_K]: { blockSize: 256, blockBytes: 84 },
    [GgmlType.Q3_K]: { blockSize: 256, blockBytes: 110 },
    [GgmlType.Q4_K]: { blockSize: 256, blockBytes: 144 },
    [GgmlType.Q5_K]: { blockSize: 256, blockBytes: 176 },
    [GgmlType.Q6_K]: { blockSize: 256, blockBytes: 210 },
    [GgmlType.Q8_K]: { blockSize: 256, blockBytes: 292 },
    [GgmlType.IQ2_XXS]: { blockSize: 256, blockBytes: 66 },
    [GgmlType.IQ2_XS]: { blockSize: 256, blockBytes: 74 },
    [GgmlType.IQ3_XXS]: { blockSize: 256, blockBytes: 98 },
    [GgmlType.IQ1_S]: { blockSize: 256, blockBytes: 50 },
    [GgmlType.IQ4_NL]: { blockSize: 32, blockBytes: 18 },
    [GgmlType.IQ3_S]: { blockSize: 256, blockBytes: 110 },
    [GgmlType.IQ2_S]: { blockSize: 256, blockBytes: 82 },
    [GgmlType.IQ4_XS]: { blockSize: 256, blockBytes: 136 },
    [GgmlType.I8]: { blockSize: 1, blockBytes: 1 },
    [GgmlType.I16]: { blockSize: 1, blockBytes: 2 },
    [GgmlType.I32]: { blockSize: 1, blockBytes: 4 },
    [GgmlType.I64]: { blockSize: 1, blockBytes: 8 },
    [GgmlType.F64]: { blockSize: 1, blockBytes: 8 },
    [GgmlType.IQ1_M]: { blockSize: 256, blockBytes: 56 },
    [GgmlType.BF16]: { blockSize: 1, blockBytes: 2 },
    [GgmlType.TQ1_0]: { blockSize: 256, blockBytes: 54 },
    [GgmlType.TQ2_0]: { blockSize: 256, blockBytes: 66 },
    [GgmlType.MXFP4]: { blockSize: 32, blockBytes: 17 },
    [GgmlType.NVFP4]: { blockSize: 64, blockBytes: 36 },
    [GgmlType.Q1_0]: { blockSize: 128, blockBytes: 18 },
    [GgmlType.Q2_0]: { blockSize: 64, blockBytes: 18 }
};

export function isGgmlType(id: number): id is GgmlType {
    return Object.hasOwn(GGML_TYPE_LAYOUT, id);
}

/** "Q4_K" for a known type, "type 77" otherwise — for error messages. */
export function ggmlTypeName(type: number): string {
    return isGgmlType(type) ? GgmlType[type] : `type ${type}`;
}

export const GgufKey = {
    general: {
        architecture: "general.architecture",
        type: "general.type",
        name: "general.name",
        description: "general.description",
        alignment: "general.alignment",
        fileType: "general.file_type",
        quantizationVersion: "general.quantization_version"
    },
    /** Hyper-parameter keys under the architecture's prefix, e.g. `llama.context_length`. */
    llm: (arch: string) => ({
        contextLength: `${arch}.context_length`,
        embeddingLength: `${arch}.embedding_length`,
        blockCount: `${arch}.block_count`,
        feedForwardLength: `${arch}.feed_forward_length`,
        headCount: `${arch}.attention.head_count`,
        headCountKv: `${arch}.attention.head_count_kv`,
        ropeDimensionCount: `${arch}.rope.dimension_count`,
        ropeFreqBase: `${arch}.rope.freq_base`,
        rmsEpsilon: `${arch}.attention.layer_norm_rms_epsilon`,
        vocabSize: `${arch}.vocab_size`,
        poolingType: `${arch}.pooling_type`
    }),
    tokenizer: {
        model: "tokenizer.ggml.model",
        pre: "tokenizer.ggml.pre",
        tokens: "tokenizer.ggml.tokens",
        scores: "tokenizer.ggml.scores",
        tokenType: "tokenizer.ggml.token_type",
        merges: "tokenizer.ggml.merges",
        bosTokenId: "tokenizer.ggml.bos_token_id",
        eosTokenId: "tokenizer.ggml.eos_token_id",
        unknownTokenId: "tokenizer.ggml.unknown_token_id",
        paddingTokenId: "tokenizer.ggml.padding_token_id",
        addBosToken: "tokenizer.ggml.add_bos_token",
        addEosToken: "tokenizer.ggml.add_eos_token"
    },
    adapter: {
        type: "adapter.type",
        loraAlpha: "adapter.lora.alpha"
    },
    /** What a blended adapter was made from, so chat and eval can show it from the file alone. */
    blend: {
        method: "crayon.blend.method",
        combine: "crayon.blend.combine",
        pool: "crayon.blend.pool",
        adapterIds: "crayon.blend.adapter_ids",
        weights: "crayon.blend.weights",
        strength: "crayon.blend.strength",
        rank: "crayon.blend.rank",
        baseSha256: "crayon.blend.base_sha256",
        sha256: "crayon.blend.sha256"
    }
} as const;

/** Values of `general.architecture`, `general.type` and `adapter.type` the project writes and expects. */
export const LLAMA_ARCHITECTURE = "llama";
export const GENERAL_TYPE_MODEL = "model";
export const GENERAL_TYPE_ADAPTER = "adapter";
export const ADAPTER_TYPE_LORA = "lora";
/** `tokenizer.ggml.model` values: SentencePiece-style and GPT-2 byte-level BPE (which needs merges). */
export const TOKENIZER_MODEL_SPM = "llama";
export const TOKENIZER_MODEL_GPT2 = "gpt2";

/** Per-token kinds stored in `tokenizer.ggml.token_type`. */
export enum TokenType {
    NORMAL = 1,
    UNKNOWN = 2,
    CONTROL = 3,
    USER_DEFINED = 4,
    UNUSED = 5,
    BYTE = 6
}

export const TensorName = {
    tokenEmbd: "token_embd.weight", // [d, vocab]
    outputNorm: "output_norm.weight", // [d]
    output: "output.weight", // [d, vocab]; absent = tied to token_embd
    ropeFrequencies: "rope_freqs.weight" // [ropeDims / 2]; optional (llama 3 rope scaling)
} as const;

export const BLOCK_TENSOR_KINDS = [
    "attn_norm",
    "attn_q",
    "attn_k",
    "attn_v",
    "attn_output",
    "ffn_norm",
    "ffn_gate",
    "ffn_up",
    "ffn_down"
] as const;
export type BlockTensorKind = (typeof BLOCK_TENSOR_KINDS)[number];

export function blockTensorName(layer: number, kind: BlockTensorKind): string {
    return `blk.${layer}.${kind}.weight`;
}

const BLOCK_TENSOR_PATTERN = /^blk\.(0|[1-9][0-9]*)\.([a-z_]+)\.weight$/;

/** The inverse of `blockTensorName`; undefined for any other name. */
export function parseBlockTensorName(name: string): { layer: number; kind: BlockTensorKind } | undefined {
    const match = BLOCK_TENSOR_PATTERN.exec(name);
    if (!match || !(BLOCK_TENSOR_KINDS as readonly string[]).includes(match[2]!)) return undefined;
    return { layer: Number(match[1]), kind: match[2] as BlockTensorKind };
}

const LORA_A_SUFFIX = ".lora_a";
const LORA_B_SUFFIX = ".lora_b";

/** `<base>.lora_a`: A with ne [in, rank] (token_embd: [rank, vocab]). */
export function loraATensorName(baseTensorName: string): string {
    return baseTensorName + LORA_A_SUFFIX;
}

/** `<base>.lora_b`: B with ne [rank, out] (token_embd: [rank, d]). */
export function loraBTensorName(baseTensorName: string): string {
    return baseTensorName + LORA_B_SUFFIX;
}

/** Splits `<base>.lora_a` / `<base>.lora_b`; undefined for names without either suffix. */
export function parseLoraTensorName(name: string): { baseTensorName: string; part: "a" | "b" } | undefined {
    for (const [suffix, part] of [[LORA_A_SUFFIX, "a"], [LORA_B_SUFFIX, "b"]] as const) {
        if (name.endsWith(suffix) && name.length > suffix.length) return { baseTensorName: name.slice(0, -suffix.length), part };
    }
    return undefined;
}

/** The projections a LoRA can adapt, in the short names users type. */
export const LORA_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

const LORA_TARGET_TENSOR_KIND: Readonly<Record<LoraTarget, BlockTensorKind>> = {
    q: "attn_q",
    k: "attn_k",
    v: "attn_v",
    o: "attn_output",
    gate: "ffn_gate",
    up: "ffn_up",
    down: "ffn_down"
};

export function loraTargetTensorKind(target: LoraTarget): BlockTensorKind {
    return LORA_TARGET_TENSOR_KIND[target];
}
