import { mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType, GgufKey, GgufValueType } from "../../src/gguf/constants.js";
import { GgufError } from "../../src/gguf/errors.js";
import { roundToF16 } from "../../src/gguf/numeric.js";
import { metadataNumber, metadataString, readGguf, readGgufBytes, readTensorF32 } from "../../src/gguf/reader.js";
import type { GgufMetadata } from "../../src/gguf/types.js";
import { encodeGguf, gguf, writeGguf, type GgufTensorInput } from "../../src/gguf/writer.js";
import { rawGguf } from "./rawGguf.js";
import { pseudoRandom } from "./tinyModel.js";

let dir: string;
beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crayon-gguf-roundtrip-"));
});
afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
});

function everyValueType(): GgufMetadata {
    return new Map([
        ["test.u8", gguf.u8(255)],
        ["test.i8", gguf.i8(-128)],
        ["test.u16", gguf.u16(65535)],
        ["test.i16", gguf.i16(-32768)],
        ["test.u32", gguf.u32(0xffffffff)],
        ["test.i32", gguf.i32(-0x80000000)],
        ["test.f32", gguf.f32(Math.fround(-3.14159))],
        ["test.bool_true", gguf.bool(true)],
        ["test.bool_false", gguf.bool(false)],
        ["test.string", gguf.str("héllo ▁wörld 🦙\n\ttabs")],
        ["test.empty_string", gguf.str("")],
        ["test.u64", gguf.u64(0xffffffffffffffffn)],
        ["test.i64", gguf.i64(-0x8000000000000000n)],
        ["test.f64", gguf.f64(Math.PI)],
        ["test.array_u8", gguf.arr(GgufValueType.UINT8, [0, 1, 255])],
        ["test.array_i16", gguf.arr(GgufValueType.INT16, [-1, 2])],
        ["test.array_f32", gguf.arr(GgufValueType.FLOAT32, [Math.fround(0.1), -0, Infinity])],
        ["test.array_f64", gguf.arr(GgufValueType.FLOAT64, [1e-300, -2.5])],
        ["test.array_u64", gguf.arr(GgufValueType.UINT64, [0n, 123456789012345678n])],
        ["test.array_i64", gguf.arr(GgufValueType.INT64, [-1n, 0x7fffffffffffffffn])],
        ["test.array_bool", gguf.arr(GgufValueType.BOOL, [true, false, true])],
        ["test.array_string", gguf.arr(GgufValueType.STRING, ["<s>", "", "▁the", "🦙"])],
        ["test.array_empty", gguf.arr(GgufValueType.UINT32, [])],
        ["test.array_nested", gguf.arr(GgufValueType.ARRAY, [
            gguf.arr(GgufValueType.UINT32, [1, 2, 3]),
            gguf.arr(GgufValueType.STRING, ["a", "b"]),
            gguf.arr(GgufValueType.ARRAY, [gguf.arr(GgufValueType.INT8, [-7])])
        ])]
    ]);
}

function oddTensors(): GgufTensorInput[] {
    const special = new Float32Array([0, -0, 1, -1, 65504, 70000, -1e9, 1e-8, 2 ** -24, 6e-5, NaN, Infinity, -Infinity, 1 + 2 ** -11, 0.1]);
    return [
        { name: "odd.f32.matrix", type: GgmlType.F32, dims: [7, 3], data: pseudoRandom(21, 1) },
        { name: "odd.f32.vector", type: GgmlType.F32, dims: [5], data: new Float32Array([NaN, -0, Infinity, 1e-45, -3.5]) },
        { name: "odd.f16.matrix", type: GgmlType.F16, dims: [13, 3], data: pseudoRandom(39, 2, 100) },
        { name: "odd.f16.special", type: GgmlType.F16, dims: [special.length], data: special },
        { name: "odd.f32.rank4", type: GgmlType.F32, dims: [3, 1, 2, 5], data: pseudoRandom(30, 3) }
    ];
}

describe("GGUF round trip", () => {
    it("keeps every metadata value and type, and every tensor bit", async () => {
        const path = join(dir, "every-type.gguf");
        const metadata = everyValueType();
        const tensors = oddTensors();
        writeGguf(path, { metadata, tensors });
        const file = await readGguf(path);

        expect(file.version).toBe(3);
        expect(file.alignment).toBe(32);
        expect([...file.metadata.keys()]).toEqual([...metadata.keys()]);
        expect(file.metadata).toEqual(metadata);
        expect(file.tensors.map((t) => [t.name, t.type, t.dims])).toEqual(tensors.map((t) => [t.name, t.type, t.dims]));
        for (const tensor of tensors) {
            const read = await readTensorF32(file, tensor.name);
            const expected = tensor.type === GgmlType.F16 ? tensor.data.map(roundToF16) : tensor.data;
            expect(new Uint32Array(read.buffer), tensor.name).toEqual(new Uint32Array(expected.buffer));
        }
        expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
    });

    it("describes a file from its encoded header alone as from the written file", async () => {
        const path = join(dir, "header-only.gguf");
        const content = { metadata: everyValueType(), tensors: oddTensors() };
        const chunks = [...encodeGguf(path, content)];
        const fileSize = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
        writeGguf(path, content);
        expect(readGgufBytes(path, chunks[0]!, fileSize)).toEqual(await readGguf(path));
        // the header is not the whole file: parsed as if it were, the tensors run past its end
        expect(() => readGgufBytes(path, chunks[0]!)).toThrow(/past the end of the file/);
    });

    it("writes and reads a header of several MB (a real vocabulary)", async () => {
        const path = join(dir, "big-vocab.gguf");
        const tokens = Array.from({ length: 150_000 }, (_, i) => `▁token${i}`);
        const metadata: GgufMetadata = new Map([
            [GgufKey.tokenizer.tokens, gguf.arr(GgufValueType.STRING, tokens)],
            [GgufKey.tokenizer.scores, gguf.arr(GgufValueType.FLOAT32, tokens.map((_, i) => -i))]
        ]);
        writeGguf(path, { metadata, tensors: oddTensors() });
        const file = await readGguf(path);
        expect(file.metadata).toEqual(metadata);
        expect(file.dataOffset).toBeGreaterThan(1 << 20);
    });

    it("keeps values that cross the header buffer's growth boundaries", async () => {
        for (let shift = 0; shift < 12; shift++) {
            const path = join(dir, `boundary-${shift}.gguf`);
            const metadata: GgufMetadata = new Map([
                ["test.filler", gguf.str("x".repeat((1 << 16) - 64 + shift))],
                ["test.u64", gguf.u64(0x0123456789abcdefn)],
                ["test.f32", gguf.f32(Math.fround(1.5))],
                ["test.strings", gguf.arr(GgufValueType.STRING, ["after", "the", "boundary"])]
            ]);
            writeGguf(path, { metadata, tensors: [] });
            expect((await readGguf(path)).metadata).toEqual(metadata);
        }
    });

    it("aligns the data section and every tensor, honouring a custom alignment", async () => {
        const tensors = oddTensors();
        const byOption = join(dir, "align-option.gguf");
        writeGguf(byOption, { metadata: new Map(), tensors }, { alignment: 64 });
        const byKey = join(dir, "align-key.gguf");
        writeGguf(byKey, { metadata: new Map([[GgufKey.general.alignment, gguf.u32(128)]]), tensors });
        const byDefault = join(dir, "align-default.gguf");
        writeGguf(byDefault, { metadata: new Map(), tensors });

        for (const [path, alignment] of [[byOption, 64], [byKey, 128], [byDefault, 32]] as const) {
            const file = await readGguf(path);
            expect(file.alignment).toBe(alignment);
            expect(file.dataOffset % alignment).toBe(0);
            for (const tensor of file.tensors) expect(tensor.offset % alignment).toBe(0);
            if (alignment !== 32) expect(metadataNumber(file, GgufKey.general.alignment, GgufValueType.UINT32)).toBe(alignment);
            else expect(file.metadata.has(GgufKey.general.alignment)).toBe(false);
        }
    });

    it("reads only the header of a multi-GB file", async () => {
        const path = join(dir, "sparse.gguf");
        const gib = 2 ** 30;
        await writeFile(path, rawGguf([{ name: "huge", dims: [gib / 4, 2], type: GgmlType.F32, offset: 0 }], new Uint8Array(0)));
        await truncate(path, 4096 + 2 * gib); // sparse: costs no disk
        const started = performance.now();
        const file = await readGguf(path);
        expect(performance.now() - started).toBeLessThan(1000);
        expect(file.tensors[0]!.byteSize).toBe(2 * gib);
        expect(file.fileSize).toBe(4096 + 2 * gib);
    });

    it("replaces an existing file atomically", async () => {
        const path = join(dir, "replace.gguf");
        writeGguf(path, { metadata: new Map([[GgufKey.general.name, gguf.str("first")]]), tensors: [] });
        writeGguf(path, { metadata: new Map([[GgufKey.general.name, gguf.str("second")]]), tensors: [] });
        expect(metadataString(await readGguf(path), GgufKey.general.name)).toBe("second");
    });

    it("refuses what it cannot write, naming the file", async () => {
        const path = join(dir, "refused.gguf");
        const bad: [GgufMetadata, GgufTensorInput[], string][] = [
            [new Map(), [{ name: "x", type: GgmlType.F32, dims: [2, 2], data: new Float32Array(3) }], "has 3 values but dims [2, 2] need 4"],
            [new Map(), [{ name: "x", type: GgmlType.F32, dims: [0], data: new Float32Array(0) }], "need 1 to 4 positive integers"],
            [new Map([["k", gguf.u8(256)]]), [], "256 is not a UINT8"],
            [new Map([["k", gguf.u32(1.5)]]), [], "1.5 is not a UINT32"]
        ];
        for (const [metadata, tensors, problem] of bad) {
            expect(() => writeGguf(path, { metadata, tensors })).toThrow(GgufError);
            expect(() => writeGguf(path, { metadata, tensors })).toThrow(`refused.gguf: cannot write: `);
            expect(() => writeGguf(path, { metadata, tensors })).toThrow(problem);
        }
        expect(await readdir(dir)).not.toContain("refused.gguf");
    });
});
