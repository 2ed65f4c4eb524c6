/** Thrown by `ByteCursor.need` when the bytes exist in the file but not in the buffer: read more, parse again. */
export class HeaderPastBuffer extends Error {
    constructor(readonly bytesNeeded: number) {
        super(`the header needs at least ${bytesNeeded} bytes`);
    }
}

/**
 * Sequential little-endian reads from bytes in memory: the whole file, or only its start when `fileSize`
 * gives the whole length. Every read is bounds-checked: `need(n, what)` calls `truncated(what)` when the
 * file ends first, and throws `HeaderPastBuffer` when the file goes on but the buffer does not.
 */
export class ByteCursor {
    /** Offset of the next byte to read. */
    position = 0;
    private readonly view: DataView;
    /** the same bytes as a Buffer, made once: one per string would cost more than decoding it */
    private readonly text: Buffer;

    constructor(
        private readonly bytes: Uint8Array,
        readonly fileSize: number,
        private readonly truncated: (what: string) => never
    ) {
        this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        this.text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    }

    get remaining(): number {
        return this.fileSize - this.position;
    }

    /** Checks that the next `bytes` bytes can be read. */
    need(bytes: number, what: string): void {
        if (bytes > this.remaining) this.truncated(what);
        if (this.position + bytes > this.bytes.length) throw new HeaderPastBuffer(this.position + bytes);
    }

    private take(bytes: number): number {
        const at = this.position;
        this.position += bytes;
        return at;
    }

    u8(): number {
        return this.view.getUint8(this.take(1));
    }
    i8(): number {
        return this.view.getInt8(this.take(1));
    }
    u16(): number {
        return this.view.getUint16(this.take(2), true);
    }
    i16(): number {
        return this.view.getInt16(this.take(2), true);
    }
    u32(): number {
        return this.view.getUint32(this.take(4), true);
    }
    i32(): number {
        return this.view.getInt32(this.take(4), true);
    }
    u64(): bigint {
        return this.view.getBigUint64(this.take(8), true);
    }
    i64(): bigint {
        return this.view.getBigInt64(this.take(8), true);
    }
    /** A u64 as a number: exact below 2^53, the nearest double above (a corrupt length, refused by its bounds check). */
    u64AsNumber(): number {
        const at = this.take(8);
        return this.view.getUint32(at + 4, true) * 2 ** 32 + this.view.getUint32(at, true);
    }
    /** An i64 as a number, exact within ±2^53. */
    i64AsNumber(): number {
        const at = this.take(8);
        return this.view.getInt32(at + 4, true) * 2 ** 32 + this.view.getUint32(at, true);
    }
    f32(): number {
        return this.view.getFloat32(this.take(4), true);
    }
    f64(): number {
        return this.view.getFloat64(this.take(8), true);
    }
    utf8(bytes: number): string {
        const at = this.take(bytes);
        return this.text.toString("utf8", at, at + bytes);
    }
}
