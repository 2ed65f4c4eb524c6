import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgmlType } from "../../src/gguf/constants.js";
import { GgufError } from "../../src/gguf/errors.js";
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "../../src/gguf/numeric.js";
import { readGguf, readTensorF32 } from "../../src/gguf/reader.js";
import { rawGguf } from "./rawGguf.js";

describe("float16", () => {
    it("encodes known values with round-to-nearest-even", () => {
        const cases: [number, number][] = [
            [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
            [65519, 0x7bff], // just below the midpoint to 65536: stays at max
            [65520, 0x7c00], // the midpoint rounds to even, which is inf
            [1e6, 0x7c00], [-Infinity, 0xfc00], [Infinity, 0x7c00],
            [2 ** -14, 0x0400], // smallest normal
            [2 ** -24, 0x0001], // smallest subnormal
            [2 ** -25, 0x0000], // half of it: tie to even gives zero
            [2 ** -25 * 1.5, 0x0001],
            [3 * 2 ** -25, 0x0002], // tie between 1 and 2 subnormal steps: even is 2
            [1023 * 2 ** -24, 0x03ff], // largest subnormal
            [1 + 2 ** -11, 0x3c00], // tie: even mantissa 0
            [1 + 3 * 2 ** -11, 0x3c02], // tie: even mantissa 2
            [1 + 2 ** -11 + 2 ** -20, 0x3c01] // above the tie
        ];
        for (const [value, bits] of cases) expect([value, f32ToF16Bits(value)]).toEqual([value, bits]);
        const nan = f32ToF16Bits(NaN);
        expect(nan & 0x7c00).toBe(0x7c00);
        expect(nan & 0x3ff).not.toBe(0);
    });

    it("decodes every non-NaN bit pattern back to itself", () => {
        for (let bits = 0; bits < 65536; bits++) {
            const value = f16BitsToF32(bits);
            if (Number.isNaN(value)) expect((bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0).toBe(true);
            else if (f32ToF16Bits(value) !== bits) expect.fail(`bits 0x${bits.toString(16)} -> ${value} -> 0x${f32ToF16Bits(value).toString(16)}`);
        }
    });
});

describe("bfloat16", () => {
    it("keeps the top half of the float32, rounded to nearest even", () => {
        expect(f32ToBf16Bits(1)).toBe(0x3f80);
        expect(f32ToBf16Bits(-2.5)).toBe(0xc020);
        expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie: even
        expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie: even
        expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -12)).toBe(0x3f81);
        expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
        expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(NaN)))).toBe(true);
        expect(bf16BitsToF32(0x4049)).toBe(3.140625);
    });
});

describe("tensor decoding", () => {
    let dir: string;
    beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), "crayon-gguf-decode-"));
    });
    afterAll(async () => {
        await rm(dir, { recursive: true, force: true });
    });

    it("decodes F16, BF16 and Q8_0 tensors crafted byte by byte", async () => {
        const f16 = Buffer.alloc(32);
        [0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0x8000].forEach((bits, i) => f16.writeUInt16LE(bits, 2 * i));
        const bf16 = Buffer.alloc(32);
        [0x3f80, 0xc020, 0x4049].forEach((bits, i) => bf16.writeUInt16LE(bits, 2 * i));
        // Q8_0: two blocks of 32 elements, each an f16 scale followed by 32 int8 quants.
        const q8 = Buffer.alloc(96);
        q8.writeUInt16LE(0x3800, 0); // scale 0.5
        for (let j = 0; j < 32; j++) q8.writeInt8(j - 16, 2 + j);
        q8.writeUInt16LE(0x3400, 34); // scale 0.25
        for (let j = 0; j < 32; j++) q8.writeInt8(j % 2 === 0 ? 127 : -128, 36 + j);
        const path = join(dir, "decode.gguf");
        await writeFile(path, rawGguf([
            { name: "half", dims: [3, 2], type: GgmlType.F16, offset: 0 },
            { name: "brain", dims: [3], type: GgmlType.BF16, offset: 32 },
            { name: "q8", dims: [32, 2], type: GgmlType.Q8_0, offset: 64 }
        ], Buffer.concat([f16, bf16, q8])));
        const file = await readGguf(path);

        expect(Array.from(await readTensorF32(file, "half"))).toEqual([1, -2, f16BitsToF32(0x3555), 2 ** -24, Infinity, -0]);
        expect(Array.from(await readTensorF32(file, "brain"))).toEqual([1, -2.5, 3.140625]);
        const expected = [
            ...Array.from({ length: 32 }, (_, j) => 0.5 * (j - 16)),
            ...Array.from({ length: 32 }, (_, j) => 0.25 * (j % 2 === 0 ? 127 : -128))
        ];
        expect(Array.from(await readTensorF32(file, file.tensors[2]!))).toEqual(expected);
    });

    it("names the type when a tensor cannot be decoded yet", async () => {
        const path = join(dir, "q4k.gguf");
        await writeFile(path, rawGguf([{ name: "quantized", dims: [256], type: GgmlType.Q4_K, offset: 0 }], new Uint8Array(144)));
        const file = await readGguf(path);
        const error = await readTensorF32(file, "quantized").catch((e: unknown) => e);
        expect(error).toBeInstanceOf(GgufError);
        expect((error as Error).message).toContain("q4k.gguf: tensor quantized is Q4_K, which is not supported yet");
    });
});
