import { execFileSync } from "node:child_process";
import { mkdtempSync, openSync, rmSync, utimesSync, writeSync, closeSync, ftruncateSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let dir: string;
let bigFile: string;
const fingerprintModule = path.resolve(import.meta.dirname, "../../dist/src/pool/fingerprint.js");

beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-digest-"));
    bigFile = path.join(dir, "big.gguf");
    // 64 MiB, sparse but for a few bytes: large enough to be remembered, cheap to make
    const fd = openSync(bigFile, "w");
    ftruncateSync(fd, 64 * 2 ** 20);
    writeSync(fd, "model bytes", 1234567);
    closeSync(fd);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh process hashes the file twice and reports the digest and how many times it read the file. */
function hashInNewProcess(file: string): { digest: string; computations: number } {
    const script = `const m = await import(${JSON.stringify(fingerprintModule)}); const a = await m.sha256File(${JSON.stringify(file)}); const b = await m.sha256File(${JSON.stringify(file)}); if (a !== b) throw new Error("digests differ"); console.log(JSON.stringify({ digest: a, computations: m.sha256Computations() }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { env: { ...process.env, CRAYON_CACHE_DIR: path.join(dir, "cache") }, encoding: "utf8" });
    return JSON.parse(out) as { digest: string; computations: number };
}

describe("the digest of a large model file", () => {
    it("is computed once, then read from the cache by later processes, and again when the file changes", () => {
        const first = hashInNewProcess(bigFile);
        expect(first.computations).toBe(1);
        const second = hashInNewProcess(bigFile);
        expect(second).toEqual({ digest: first.digest, computations: 0 });

        const fd = openSync(bigFile, "r+");
        writeSync(fd, "other bytes", 1234567);
        closeSync(fd);
        const later = new Date(Date.now() + 5000);
        utimesSync(bigFile, later, later);
        const changed = hashInNewProcess(bigFile);
        expect(changed.computations).toBe(1);
        expect(changed.digest).not.toBe(first.digest);
    });
});
