import type { FileHandle } from "node:fs/promises";

/** First read and smallest refill: most headers fit, and a small adapter is not read whole just for its header. */
const CHUNK_BYTES = 64 << 10;

/**
 * Sequential little-endian reads from a file handle through a buffer that is refilled on demand, so a
 * multi-GB model costs only the bytes of its header. Every read is bounds-checked against the file size:
 * `need(n, what)` calls `truncated(what)` instead of reading past the end.
 */
export class FileCursor {
    /** Absolute offset of the next byte to read. */
    position = 0;
    private buffer: Uint8Array = new Uint8Array(0);
    private view: DataView = new DataView(this.buffer.buffer);
    private bufferStart = 0;

    constructor(
        private readonly handle: FileHandle | null,
        readonly fileSize: number,
        private readonly truncated: (what: string) => never
    ) {}

    /**
     * A cursor over bytes already in memory: `need` only checks bounds and never reads. `bytes` may be the
     * start of a longer file (its header) when `fileSize` gives the whole length.
     */
    static inMemory(bytes: Uint8Array, truncated: (what: string) => never, fileSize = bytes.length): FileCursor {
        const cursor = new FileCursor(null, fileSize, truncated);
        cursor.buffer = bytes;
        cursor.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        return cursor;
    }

    get remaining(): number {
        return this.fileSize - this.position;
    }

    /** Makes the next `bytes` bytes readable, or reports that the file ends inside `what`. */
    async need(bytes: number, what: string): Promise<void> {
        if (bytes > this.remaining) this.truncated(what);
        const bufferEnd = this.bufferStart + this.buffer.length;
        if (this.position + bytes <= bufferEnd) return;
        if (this.handle === null) this.truncated(what); // in memory: only the bytes given can be read
        const keep = this.buffer.subarray(this.position - this.bufferStart);
        const toRead = Math.min(Math.max(bytes - keep.length, CHUNK_BYTES), this.fileSize - bufferEnd);
        const next = new Uint8Array(keep.length + toRead);
        next.set(keep);
        let filled = keep.length;
        while (filled < next.length) {
            const { bytesRead } = await this.handle.read(next, filled, next.length - filled, this.position + filled);
            if (bytesRead === 0) this.truncated(what); // the file shrank while we read it
            filled += bytesRead;
        }
        this.buffer = next;
        this.view = new DataView(next.buffer);
        this.bufferStart = this.position;
    }

    private take(bytes: number): number {
        const at = this.position - this.bufferStart;
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
    f32(): number {
        return this.view.getFloat32(this.take(4), true);
    }
    f64(): number {
        return this.view.getFloat64(this.take(8), true);
    }
    utf8(bytes: number): string {
        const at = this.take(bytes);
        return Buffer.from(this.buffer.buffer, this.buffer.byteOffset + at, bytes).toString("utf8");
    }
}
