/** Hand-assembled GGUF bytes: for tensor types the writer does not produce, and for deliberately broken files. */
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_VERSION, GgmlType, GgufValueType } from "../../src/gguf/constants.js";

export class RawBytes {
    private readonly parts: Buffer[] = [];
    length = 0;

    private push(part: Buffer): this {
        this.parts.push(part);
        this.length += part.length;
        return this;
    }
    u32(value: number): this {
        const part = Buffer.alloc(4);
        part.writeUInt32LE(value);
        return this.push(part);
    }
    u64(value: number | bigint): this {
        const part = Buffer.alloc(8);
        part.writeBigUInt64LE(BigInt(value));
        return this.push(part);
    }
    str(value: string): this {
        const encoded = Buffer.from(value, "utf8");
        return this.u64(encoded.length).push(encoded);
    }
    bytes(value: Uint8Array): this {
        return this.push(Buffer.from(value));
    }
    padTo(alignment: number): this {
        return this.push(Buffer.alloc((alignment - (this.length % alignment)) % alignment));
    }
    build(): Buffer {
        return Buffer.concat(this.parts);
    }
}

export interface RawTensor {
    name: string;
    dims: (number | bigint)[];
    type: GgmlType | number;
    offset: number | bigint; // from the data section start
}

/**
 * A GGUF file with one string key (`general.architecture = "llama"`), the given tensor infos and `data` as the
 * data section, with no checks: whatever the arguments say is what the file says.
 */
export function rawGguf(tensors: RawTensor[], data: Uint8Array): Buffer {
    const out = new RawBytes()
        .u32(GGUF_MAGIC)
        .u32(GGUF_VERSION)
        .u64(tensors.length)
        .u64(1)
        .str("general.architecture")
        .u32(GgufValueType.STRING)
        .str("llama");
    for (const tensor of tensors) {
        out.str(tensor.name).u32(tensor.dims.length);
        for (const dim of tensor.dims) out.u64(BigInt.asUintN(64, BigInt(dim)));
        out.u32(tensor.type).u64(tensor.offset);
    }
    return out.padTo(GGUF_DEFAULT_ALIGNMENT).bytes(data).build();
}
