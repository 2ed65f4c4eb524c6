/**
 * A corpus of broken files, each generated here. Every one must fail with a one-line GgufError that names the
 * file and the specific problem — before node-llama-cpp (which is never called here) could see it.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, GgufKey, GgufValueType, TensorName, blockTensorName } from "../../src/gguf/constants.js";
import { GgufError } from "../../src/gguf/errors.js";
import { readGguf } from "../../src/gguf/reader.js";
import type { GgufContent } from "../../src/gguf/writer.js";
import { gguf, writeGguf } from "../../src/gguf/writer.js";
import { validateLlamaModel, validateLoraAdapter } from "../../src/gguf/validate.js";
import { rawGguf } from "./rawGguf.js";
import { tinyAdapter, tinyModel, tinyVocab } from "./tinyModel.js";

let dir: string;
let validModel: Buffer; // bytes of a valid tiny model, patched by the header cases
let validDataOffset: number;
const basePath = () => join(dir, "base.gguf");

beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crayon-gguf-malformed-"));
    writeGguf(basePath(), tinyModel().content);
    validModel = await readFile(basePath());
    validDataOffset = (await readGguf(basePath())).dataOffset;
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

/** A copy of the valid model with `patch` applied. */
function patched(patch: (bytes: Buffer) => void): Buffer {
    const bytes = Buffer.from(validModel);
    patch(bytes);
    return bytes;
}

/** Offset just past the key name `key` in the valid model (where its type id starts). */
function afterKeyName(key: string): number {
    return validModel.indexOf(key) + Buffer.byteLength(key);
}

const FIRST_KEY_AT = 24; // magic, version, tensor count, key count

const f32Bytes = (count: number) => new Uint8Array(4 * count);
const VOCAB = tinyVocab().tokens.length;

type Case =
    | { name: string; check: "read"; bytes: () => Buffer | Promise<Buffer>; problem: string }
    | { name: string; check: "model" | "adapter"; content: () => GgufContent; problem: string };

const cases: Case[] = [
    { name: "truncated inside the header", check: "read", bytes: () => validModel.subarray(0, 12), problem: "file ends inside the tensor and key counts" },
    { name: "truncated inside a metadata key name", check: "read", bytes: () => validModel.subarray(0, FIRST_KEY_AT + 8 + 5), problem: "file ends inside the name of metadata key #0" },
    {
        name: "truncated inside the token list", check: "read",
        bytes: () => validModel.subarray(0, afterKeyName(GgufKey.tokenizer.tokens) + 400),
        problem: "of key tokenizer.ggml.tokens"
    },
    { name: "truncated inside the tensor infos", check: "read", bytes: () => validModel.subarray(0, validDataOffset - 40), problem: "file ends inside the info of tensor blk.1.ffn_down.weight" },
    { name: "truncated inside the tensor data", check: "read", bytes: () => validModel.subarray(0, validModel.length - 100), problem: "data ends at byte" },
    { name: "wrong magic", check: "read", bytes: () => patched((b) => b.write("GGML", 0)), problem: "not a GGUF file (bad magic" },
    { name: "version 1", check: "read", bytes: () => patched((b) => b.writeUInt32LE(1, 4)), problem: "unsupported GGUF version 1" },
    { name: "big-endian file", check: "read", bytes: () => patched((b) => b.writeUInt32BE(3, 4)), problem: "big-endian" },
    { name: "absurd tensor count", check: "read", bytes: () => patched((b) => b.writeBigUInt64LE(1n << 40n, 8)), problem: "absurd tensor count 1099511627776" },
    { name: "absurd key count", check: "read", bytes: () => patched((b) => b.writeBigUInt64LE(5_000_000n, 16)), problem: "absurd metadata key count 5000000" },
    { name: "string length past EOF", check: "read", bytes: () => patched((b) => b.writeBigUInt64LE(1n << 40n, FIRST_KEY_AT)), problem: "string length 1099511627776 runs past the end of the file" },
    {
        name: "unknown value type id", check: "read",
        bytes: () => patched((b) => b.writeUInt32LE(99, afterKeyName(GgufKey.general.name))),
        problem: "unknown value type id 99 for key general.name"
    },
    {
        name: "array length past EOF", check: "read",
        bytes: () => patched((b) => b.writeBigUInt64LE(1_000_000_000n, afterKeyName(GgufKey.tokenizer.tokens) + 8)),
        problem: "array length 1000000000 of key tokenizer.ggml.tokens runs past the end of the file"
    },
    {
        name: "bool that is neither 0 nor 1", check: "read",
        bytes: () => patched((b) => b.writeUInt8(7, afterKeyName(GgufKey.tokenizer.addBosToken) + 4)),
        problem: "bool value of key tokenizer.ggml.add_bos_token is 7"
    },
    { name: "tensor data past EOF", check: "read", bytes: () => rawGguf([{ name: "w", dims: [64], type: GgmlType.F32, offset: 0 }], f32Bytes(8)), problem: "tensor w data ends at byte" },
    {
        name: "misaligned tensor offset", check: "read",
        bytes: () => rawGguf([{ name: "a", dims: [2], type: GgmlType.F32, offset: 0 }, { name: "b", dims: [2], type: GgmlType.F32, offset: 8 }], f32Bytes(16)),
        problem: "tensor b has offset 8, not a multiple of the alignment 32"
    },
    {
        name: "overlapping tensors", check: "read",
        bytes: () => rawGguf([{ name: "a", dims: [16], type: GgmlType.F32, offset: 0 }, { name: "b", dims: [2], type: GgmlType.F32, offset: 32 }], f32Bytes(16)),
        problem: "tensors a and b overlap"
    },
    { name: "zero dimension", check: "read", bytes: () => rawGguf([{ name: "z", dims: [4, 0], type: GgmlType.F32, offset: 0 }], f32Bytes(8)), problem: "tensor z has a zero or negative dimension: dims [4, 0]" },
    { name: "negative dimension", check: "read", bytes: () => rawGguf([{ name: "n", dims: [-3], type: GgmlType.F32, offset: 0 }], f32Bytes(8)), problem: "tensor n has a zero or negative dimension: dims [-3]" },
    { name: "no dimensions", check: "read", bytes: () => rawGguf([{ name: "s", dims: [], type: GgmlType.F32, offset: 0 }], f32Bytes(8)), problem: "tensor s has 0 dimensions" },
    { name: "five dimensions", check: "read", bytes: () => rawGguf([{ name: "f", dims: [1, 1, 1, 1, 1], type: GgmlType.F32, offset: 0 }], f32Bytes(8)), problem: "tensor f has 5 dimensions" },
    { name: "removed ggml type", check: "read", bytes: () => rawGguf([{ name: "q", dims: [32], type: 4, offset: 0 }], f32Bytes(8)), problem: "tensor q has unknown ggml type id 4" },
    { name: "row not a whole number of blocks", check: "read", bytes: () => rawGguf([{ name: "q", dims: [33], type: GgmlType.Q8_0, offset: 0 }], f32Bytes(16)), problem: "row length 33, not a multiple of the Q8_0 block size 32" },
    {
        name: "duplicate tensor names", check: "read",
        bytes: () => rawGguf([{ name: "d", dims: [8], type: GgmlType.F32, offset: 0 }, { name: "d", dims: [8], type: GgmlType.F32, offset: 32 }], f32Bytes(16)),
        problem: "duplicate tensor name d"
    },
    {
        name: "alignment not a power of two", check: "read",
        bytes: async () => {
            const path = join(dir, "aligned-64.gguf");
            writeGguf(path, tinyModel().content, { alignment: 64 });
            const bytes = await readFile(path);
            bytes.writeUInt32LE(48, bytes.indexOf(GgufKey.general.alignment) + Buffer.byteLength(GgufKey.general.alignment) + 4);
            return bytes;
        },
        problem: "general.alignment is 48 but must be a power of two"
    },

    { name: "missing feed_forward_length", check: "model", content: () => tinyModel({ omitKeys: ["llama.feed_forward_length"] }).content, problem: "missing required key llama.feed_forward_length" },
    {
        name: "tensor shape inconsistent with the hyper-parameters", check: "model",
        content: () => tinyModel({ dims: { [blockTensorName(0, "attn_k")]: [32, 32] } }).content,
        problem: "tensor blk.0.attn_k.weight has dims [32, 32] but the hyper-parameters imply [32, 16]"
    },
    {
        name: "token_embd rows differ from the token count", check: "model",
        content: () => tinyModel({ dims: { [TensorName.tokenEmbd]: [32, 300] } }).content,
        problem: `tensor token_embd.weight has dims [32, 300] but the hyper-parameters imply [32, ${VOCAB}]`
    },
    { name: "missing tensor", check: "model", content: () => tinyModel({ omitTensors: [blockTensorName(1, "ffn_up")] }).content, problem: "missing tensor blk.1.ffn_up.weight" },
    {
        name: "tensor of a layer past block_count", check: "model",
        content: () => tinyModel({ blockCount: 3, setKeys: [[GgufKey.llm("llama").blockCount, gguf.u32(2)]] }).content,
        problem: "tensor blk.2.attn_norm.weight belongs to layer 2 but llama.block_count is 2"
    },
    { name: "key of the wrong type", check: "model", content: () => tinyModel({ setKeys: [[GgufKey.llm("llama").contextLength, gguf.u64(128n)]] }).content, problem: "key llama.context_length is uint64 but must be uint32" },
    { name: "head counts that do not divide", check: "model", content: () => tinyModel({ setKeys: [[GgufKey.llm("llama").headCountKv, gguf.u32(3)]] }).content, problem: "llama.attention.head_count 4 is not divisible by llama.attention.head_count_kv 3" },
    { name: "odd rope dimensions", check: "model", content: () => tinyModel({ setKeys: [[GgufKey.llm("llama").ropeDimensionCount, gguf.u32(7)]] }).content, problem: "llama.rope.dimension_count 7 must be even" },
    {
        name: "scores shorter than the token list", check: "model",
        content: () => tinyModel({ setKeys: [[GgufKey.tokenizer.scores, gguf.arr(GgufValueType.FLOAT32, [0, 0, 0])]] }).content,
        problem: `tokenizer.ggml.scores has 3 entries but tokenizer.ggml.tokens has ${VOCAB}`
    },
    { name: "bos id outside the vocabulary", check: "model", content: () => tinyModel({ setKeys: [[GgufKey.tokenizer.bosTokenId, gguf.u32(5000)]] }).content, problem: "tokenizer.ggml.bos_token_id is 5000, outside the vocabulary" },
    { name: "missing tokenizer", check: "model", content: () => tinyModel({ omitKeys: [GgufKey.tokenizer.tokens] }).content, problem: "missing required key tokenizer.ggml.tokens" },
    {
        name: "nested array in a model", check: "model",
        content: () => tinyModel({ setKeys: [["test.nested", gguf.arr(GgufValueType.ARRAY, [gguf.arr(GgufValueType.UINT8, [1])])]] }).content,
        problem: "metadata key test.nested is an array of arrays"
    },
    { name: "other architecture", check: "model", content: () => tinyModel({ setKeys: [[GgufKey.general.architecture, gguf.str("qwen2")]] }).content, problem: "architecture is qwen2, not llama" },
    { name: "adapter given as a model", check: "model", content: tinyAdapter, problem: "is a LoRA adapter, not a model" },

    {
        name: "LoRA on a tensor the base lacks", check: "adapter",
        content: () => tinyAdapter([{ base: blockTensorName(7, "attn_q"), a: [32, 4], b: [4, 32] }]),
        problem: "tensor blk.7.attn_q.weight.lora_a adapts blk.7.attn_q.weight, which the base model base.gguf does not have"
    },
    {
        name: "LoRA with a wrong input size", check: "adapter",
        content: () => tinyAdapter([{ base: blockTensorName(0, "attn_q"), a: [64, 8], b: [8, 32] }]),
        problem: "tensor blk.0.attn_q.weight.lora_a has dims [64, 8] but the base model's blk.0.attn_q.weight needs in=32"
    },
    {
        name: "LoRA with a wrong output size", check: "adapter",
        content: () => tinyAdapter([{ base: blockTensorName(1, "attn_k"), a: [32, 4], b: [4, 32] }]),
        problem: "tensor blk.1.attn_k.weight.lora_b has dims [4, 32] but the base model's blk.1.attn_k.weight needs out=16"
    },
    {
        name: "LoRA whose ranks disagree", check: "adapter",
        content: () => tinyAdapter([{ base: blockTensorName(0, "ffn_up"), a: [32, 4], b: [3, 48] }]),
        problem: "ranks disagree: blk.0.ffn_up.weight.lora_a has dims [32, 4] (rank 4) but blk.0.ffn_up.weight.lora_b has dims [3, 48] (rank 3)"
    },
    {
        name: "LoRA with lora_a alone", check: "adapter",
        content: () => {
            const adapter = tinyAdapter();
            return { ...adapter, tensors: adapter.tensors.filter((t) => t.name !== "blk.0.attn_v.weight.lora_b") };
        },
        problem: "tensor blk.0.attn_v.weight.lora_a has no matching blk.0.attn_v.weight.lora_b"
    },
    {
        name: "LoRA alpha of the wrong type", check: "adapter",
        content: () => {
            const adapter = tinyAdapter();
            adapter.metadata.set(GgufKey.adapter.loraAlpha, gguf.u32(8));
            return adapter;
        },
        problem: "key adapter.lora.alpha is uint32 but must be float32"
    },
    {
        name: "LoRA for another architecture", check: "adapter",
        content: () => {
            const adapter = tinyAdapter();
            adapter.metadata.set(GgufKey.general.architecture, gguf.str("qwen2"));
            return adapter;
        },
        problem: "architecture qwen2 does not match the base model's llama"
    },
    { name: "model given as an adapter", check: "adapter", content: () => tinyModel().content, problem: "missing required key general.type" }
];

describe("malformed GGUF corpus", () => {
    it("has at least 15 cases", () => {
        expect(cases.length).toBeGreaterThanOrEqual(15);
    });

    it("names a file that does not exist", async () => {
        const path = join(dir, "absent.gguf");
        await expect(readGguf(path)).rejects.toThrow(`${path}: cannot open the file (ENOENT)`);
    });

    it.each(cases.map((c, i) => [c.name, c, i] as const))("%s", async (_, testCase, index) => {
        const fileName = `broken-${index}.gguf`;
        const path = join(dir, fileName);
        const attempt = async () => {
            if (testCase.check === "read") {
                await writeFile(path, await testCase.bytes());
                await readGguf(path);
                return;
            }
            writeGguf(path, testCase.content());
            const file = await readGguf(path);
            if (testCase.check === "model") validateLlamaModel(file);
            else validateLoraAdapter(file, await readGguf(basePath()));
        };
        const error = await attempt().then(() => undefined, (e: unknown) => e);
        expect(error).toBeInstanceOf(GgufError);
        const message = (error as GgufError).message;
        expect(message.startsWith(`${path}: `)).toBe(true);
        expect(message).toContain(testCase.problem);
        expect(message).not.toMatch(/[\r\n]/);
    }, 5_000);
});
