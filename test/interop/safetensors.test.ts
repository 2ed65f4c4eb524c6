import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { roundToF16 } from "../../src/gguf/numeric.js";
import { SafetensorsError, findSafetensor, parseSafetensors, readSafetensors, safetensorF32 } from "../../src/interop/safetensors.js";
import { encodeSafetensors, writeSafetensors } from "../../src/interop/safetensorsWriter.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "crayon-safetensors-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file from a header (object or raw text), `dataBytes` zero bytes of data, and optionally a stated header length. */
function raw(header: unknown, dataBytes: number, statedLength?: bigint): Uint8Array {
    const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header));
    const bytes = new Uint8Array(8 + json.length + dataBytes);
    new DataView(bytes.buffer).setBigUint64(0, statedLength ?? BigInt(json.length), true);
    bytes.set(json, 8);
    return bytes;
}

const f32 = (shape: number[], begin: number) => ({ dtype: "F32", shape, data_offsets: [begin, begin + 4 * shape.reduce((a, b) => a * b, 1)] });

describe("safetensors write → read", () => {
    it("keeps names, shapes, metadata and values (F32 exactly, F16 and BF16 rounded)", () => {
        const values = Float32Array.from([0.1, -2.5, 3e-3, 65504, -1e-7, 7]);
        const file = path.join(dir, "roundtrip.safetensors");
        writeSafetensors(file, [
            { name: "a", dtype: "F32", shape: [2, 3], data: values },
            { name: "b", dtype: "F16", shape: [3, 2], data: values },
            { name: "c", dtype: "BF16", shape: [6], data: values }
        ], { format: "pt", note: "x" });
        const read = readSafetensors(file);
        expect(read.metadata).toEqual({ format: "pt", note: "x" });
        expect(read.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual([["a", "F32", [2, 3]], ["b", "F16", [3, 2]], ["c", "BF16", [6]]]);
        expect(read.dataOffset % 8).toBe(0);
        expect(safetensorF32(read, findSafetensor(read, "a"))).toEqual(values);
        expect(Array.from(safetensorF32(read, findSafetensor(read, "b")))).toEqual(Array.from(values, roundToF16));
        const bf16 = safetensorF32(read, findSafetensor(read, "c"));
        values.forEach((v, i) => expect(Math.abs(bf16[i]! - v)).toBeLessThanOrEqual(Math.abs(v) / 128));
    });

    it("refuses to write a tensor whose values do not fill its shape", () => {
        expect(() => encodeSafetensors("x.safetensors", [{ name: "a", dtype: "F32", shape: [2, 2], data: new Float32Array(3) }]))
            .toThrow(/x\.safetensors: cannot write: tensor a has 3 values but shape \[2, 2\] needs 4/);
    });
});

describe("a malformed safetensors file gives one line naming the file and the problem", () => {
    const good = { w: f32([2, 2], 0) };
    it.each<[string, Uint8Array, RegExp]>([
        ["an empty file", new Uint8Array(0), /has 0 bytes, fewer than the 8 of the header length/],
        ["a file cut inside the header length", new Uint8Array(5), /has 5 bytes, fewer than the 8/],
        ["a header running past the end", raw(good, 16, 10_000n), /header of 10000 bytes runs past the end of the file/],
        ["an absurd header length", raw(good, 16, 1n << 60n), /above the format's limit/],
        ["a header that is not JSON", raw('{"w": {"dtype": "F32", "shape": [2, 2], "data_', 16), /header is not valid JSON/],
        ["a header that is not an object", raw("[1, 2]", 0), /does not start with '\{'/],
        ["an unknown dtype", raw({ w: { ...f32([2, 2], 0), dtype: "F7" } }, 16), /tensor w has unknown dtype "F7"/],
        ["a missing dtype", raw({ w: { shape: [2, 2], data_offsets: [0, 16] } }, 16), /tensor w has no dtype/],
        ["a negative dimension", raw({ w: { dtype: "F32", shape: [-2, 2], data_offsets: [0, 16] } }, 16), /tensor w has shape \[-2,2\]/],
        ["offsets that are not a pair", raw({ w: { dtype: "F32", shape: [4], data_offsets: [0] } }, 16), /tensor w has data_offsets \[0\]/],
        ["offsets that end before they begin", raw({ w: { dtype: "F32", shape: [0], data_offsets: [16, 0] } }, 16), /end before they begin/],
        ["data past the end of the file (truncated)", raw({ w: f32([2, 4], 0) }, 16), /tensor w data ends at byte 32 of the data, past its end \(16 bytes\)/],
        ["shape × dtype ≠ byte length", raw({ w: { dtype: "F16", shape: [2, 2], data_offsets: [0, 16] } }, 16), /tensor w is F16 \[2, 2\] \(8 bytes\) but its data_offsets span 16 bytes/],
        ["overlapping tensors", raw({ a: f32([4], 0), b: f32([4], 8) }, 24), /tensors a and b overlap in the data/],
        ["a gap between tensors", raw({ a: f32([2], 0), b: f32([2], 12) }, 20), /bytes 8–12 of the data belong to no tensor/],
        ["bytes after the last tensor", raw(good, 20), /4 bytes after the last tensor's data/],
        ["a duplicate tensor name", raw('{"w": {"dtype":"F32","shape":[2],"data_offsets":[0,8]}, "w" : {"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8), /header names w twice/],
        ["metadata that is not strings", raw({ __metadata__: { step: 3 }, ...good }, 16), /__metadata__ entry step is 3, not a string/],
        ["a tensor described by a number", raw({ w: 3 }, 0), /tensor w is not described by an object/],
        ["a name with a line break", raw({ "w\nx": { ...f32([2, 2], 0), dtype: "Q4" } }, 16), /tensor w\\x0ax has unknown dtype/]
    ])("%s", (_, bytes, pattern) => {
        const file = path.join(dir, "bad.safetensors");
        writeFileSync(file, bytes);
        let error: unknown;
        try {
            readSafetensors(file);
        } catch (caught) {
            error = caught;
        }
        expect(error).toBeInstanceOf(SafetensorsError);
        const message = (error as Error).message;
        expect(message.split("\n")).toHaveLength(1);
        expect(message.startsWith(`${file}: `)).toBe(true);
        expect(message).toMatch(pattern);
    });

    it("names a missing file", () => {
        expect(() => readSafetensors(path.join(dir, "none.safetensors"))).toThrow(/none\.safetensors: cannot read the file \(ENOENT\)/);
    });

    it("accepts a header padded with spaces and a zero-element tensor", () => {
        const header = `${JSON.stringify({ e: { dtype: "F32", shape: [0, 3], data_offsets: [0, 0] }, w: f32([2], 0) })}      `;
        const file = parseSafetensors("padded.safetensors", raw(header, 8));
        expect(file.tensors.map((t) => t.name)).toEqual(["e", "w"]);
    });
});
