/**
 * Every command fed bad input through the CLI: a non-zero exit, exactly one line on stderr that names
 * the thing at fault, no stack frame, nothing left in the output folder, and an answer within seconds
 * (the checks come before any long work).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../src/version.js";
import { writeTestAdapter, writeTestModel } from "../runtime/fixtures.js";
import { runCrayon } from "./runCrayon.js";

/** In-process runs answer well within this when the checks come first; a model load takes under a second. */
const FEW_SECONDS = 5000;

let dir: string;
let busy: net.Server;
let busyPort: number;
const at = (name: string) => path.join(dir, name);

beforeAll(async () => {
    await tf.setBackend("cpu"); // the random test model and adapter are made with tfjs
    dir = mkdtempSync(path.join(os.tmpdir(), "crayon-bad-input-"));
    const hp = await writeTestModel(at("model.gguf"));
    const bytes = readFileSync(at("model.gguf"));
    writeFileSync(at("truncated.gguf"), bytes.subarray(0, Math.floor(bytes.length / 2)));
    // an adapter for another base: wider hidden states than the test model's
    await writeTestAdapter(at("foreign.gguf"), { ...hp, embeddingLength: 2 * hp.embeddingLength, headDim: 2 * hp.headDim }, 5);
    writeFileSync(at("examples.jsonl"), ['{"question": "is the cat on the mat?", "choices": ["yes", "no"], "answer": 0}', '{"question": "is the dog on the mat?", "choices": ["yes", "no"], "answer": "B"}'].join("\n"));
    writeFileSync(at("empty.jsonl"), "");
    writeFileSync(at("no-answer.jsonl"), '{"question": "is it?", "choices": ["yes", "no"]}\n');
    writeFileSync(at("a-file.txt"), "not a folder");
    busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    busyPort = (busy.address() as net.AddressInfo).port;
});

afterAll(async () => {
    await new Promise((resolve) => busy.close(resolve));
    rmSync(dir, { recursive: true, force: true });
});

/** One bad input: the arguments (OUT is the case's own output folder) and what the line must say. */
type Case = [name: string, args: () => string[], says: RegExp];

const OUT = "<out>";

const cases: Case[] = [
    // the command line itself
    ["a misspelt option is unknown, with a suggestion", () => ["blend", "--exmples", at("examples.jsonl"), "--out", OUT], /unknown option '--exmples'.*--examples/],
    ["a missing required option", () => ["blend", "--out", OUT], /required option '--examples/],
    ["an unknown command", () => ["blnd"], /unknown command 'blnd'/],
    ["an option without its value", () => ["eval", "--k-shot"], /argument missing/],
    ["too many arguments", () => ["benchmark", "world", "extra"], /too many arguments/],
    // blend
    ["blend into a folder that does not exist", () => ["blend", "--examples", at("examples.jsonl"), "--out", path.join(OUT, "missing", "x.gguf")], /--out: the folder .* does not exist/],
    ["blend --out z.txt", () => ["blend", "--examples", at("examples.jsonl"), "--out", path.join(OUT, "z.txt")], /--out: .*z\.txt is neither a folder nor a \.gguf file/],
    ["blend --out below a regular file", () => ["blend", "--examples", at("examples.jsonl"), "--out", path.join(at("a-file.txt"), "blends")], /--out: .*a-file\.txt is a file, not a folder/],
    ["blend --out in an unwritable folder", () => ["blend", "--examples", at("examples.jsonl"), "--out", "/proc/crayon-blends"], /--out: cannot write in \/proc/],
    ["blend an empty examples file", () => ["blend", "--examples", at("empty.jsonl"), "--out", OUT], /empty\.jsonl: no examples/],
    ["blend a missing examples file", () => ["blend", "--examples", at("none.jsonl"), "--out", OUT], /--examples: .*none\.jsonl does not exist/],
    ["blend an example without an answer", () => ["blend", "--examples", at("no-answer.jsonl"), "--out", OUT], /no-answer\.jsonl.*missing "answer"/],
    ["blend --method foo", () => ["blend", "--examples", at("examples.jsonl"), "--out", OUT, "--method", "foo"], /--method must be one of/],
    ["blend --temperature 0", () => ["blend", "--examples", at("examples.jsonl"), "--out", OUT, "--temperature", "0"], /--temperature must be a positive number/],
    ["blend --top-k 0", () => ["blend", "--examples", at("examples.jsonl"), "--out", OUT, "--top-k", "0"], /--top-k must be an integer ≥ 1/],
    ["blend from a folder that is no pool", () => ["blend", "--examples", at("examples.jsonl"), "--out", OUT, "--pool", at("no-pool")], /no-pool: no manifest\.json/],
    ["blend with a missing base model", () => ["blend", "--examples", at("examples.jsonl"), "--out", OUT, "--model", at("none.gguf")], /--model: .*none\.gguf does not exist/],
    // build-pool
    ["build-pool --clusters beyond the item count", () => ["build-pool", "--model", at("model.gguf"), "--clusters", "100000", "--out", OUT], /--clusters 100000 is too many for the \d+ pool items of world/],
    ["build-pool --out /proc/pool", () => ["build-pool", "--model", at("model.gguf"), "--out", "/proc/pool"], /--out: cannot write in \/proc/],
    ["build-pool --out below a regular file", () => ["build-pool", "--model", at("model.gguf"), "--out", path.join(at("a-file.txt"), "pool")], /is a file, not a folder/],
    ["build-pool --held-out 1", () => ["build-pool", "--held-out", "1", "--out", OUT], /--held-out must be in \[0, 1\)/],
    ["build-pool --targets with an unknown weight", () => ["build-pool", "--targets", "q,zz", "--out", OUT], /--targets: unknown zz/],
    ["build-pool --steps and --epochs", () => ["build-pool", "--steps", "10", "--epochs", "2", "--out", OUT], /give --steps or --epochs, not both/],
    ["build-pool with a missing model", () => ["build-pool", "--model", at("none.gguf"), "--out", OUT], /--model: .*none\.gguf does not exist/],
    ["build-pool --clusters auto:5-3", () => ["build-pool", "--clusters", "auto:5-3", "--out", OUT], /--clusters auto:5-3: the range/],
    ["build-pool --lr -1", () => ["build-pool", "--lr", "-1", "--out", OUT], /--lr must be a positive number/],
    // eval
    ["eval --out below a regular file", () => ["eval", "--model", at("model.gguf"), "--out", path.join(at("a-file.txt"), "run")], /--out: .*a-file\.txt is a file, not a folder/],
    ["eval --server-url notaurl", () => ["eval", "--server-url", "notaurl", "--out", OUT], /--server-url must be a URL/],
    ["eval --methods foo", () => ["eval", "--methods", "foo", "--out", OUT], /--methods must be one of/],
    ["eval --k-shot 0", () => ["eval", "--k-shot", "0", "--out", OUT], /--k-shot must be an integer ≥ 1/],
    ["eval with a server URL and a server model", () => ["eval", "--server-url", "http://127.0.0.1:9/v1", "--server-model", at("model.gguf"), "--out", OUT], /not both/],
    ["eval from a folder that is no pool", () => ["eval", "--pool", at("no-pool"), "--out", OUT], /no-pool: no manifest\.json; is this a pool folder/],
    // serve
    ["serve --port 99999", () => ["serve", "--port", "99999"], /--port must be from 0 to 65535/],
    ["serve --port abc", () => ["serve", "--port", "abc"], /--port must be an integer ≥ 0/],
    ["serve on a port in use", () => ["serve", "--model", at("model.gguf"), "--port", String(busyPort)], /127\.0\.0\.1:\d+ is already in use; choose another --port/],
    ["serve on an address of another machine", () => ["serve", "--model", at("model.gguf"), "--host", "10.255.255.1", "--port", "0"], /cannot listen on 10\.255\.255\.1/],
    ["serve on an unknown host name", () => ["serve", "--model", at("model.gguf"), "--host", "no.such.host.invalid", "--port", "0"], /no\.such\.host\.invalid/],
    ["serve a missing model", () => ["serve", "--model", at("none.gguf")], /--model: .*none\.gguf does not exist/],
    ["serve a truncated model", () => ["serve", "--model", at("truncated.gguf"), "--port", "0", "--threads", "1"], /truncated\.gguf/],
    ["serve --threads 0", () => ["serve", "--threads", "0"], /--threads must be an integer ≥ 1/],
    ["serve --max-body 0", () => ["serve", "--max-body", "0"], /--max-body must be an integer ≥ 1/],
    // chat
    ["chat --policy foo", () => ["chat", "--policy", "foo"], /--policy must be one of device, server, confidence/],
    ["chat with an empty examples file", () => ["chat", "--model", at("model.gguf"), "--threads", "1", "--examples", at("empty.jsonl")], /empty\.jsonl: no examples/],
    ["chat --threshold 1.5", () => ["chat", "--threshold", "1.5"], /--threshold must be a number from 0 to 1/],
    ["chat --server-share 2", () => ["chat", "--server-share", "2"], /--server-share must be a number from 0 to 1/],
    ["chat --timeout -1", () => ["chat", "--server", "http://127.0.0.1:9/v1", "--timeout", "-1"], /--timeout must be a positive number/],
    ["chat --server notaurl", () => ["chat", "--server", "notaurl"], /--server must be a URL/],
    ["chat --scope-threshold 2", () => ["chat", "--scope-threshold", "2"], /--scope-threshold must be a number from -1 to 1/],
    ["chat with a truncated model", () => ["chat", "--model", at("truncated.gguf"), "--threads", "1"], /truncated\.gguf/],
    ["chat with an adapter for another model", () => ["chat", "--model", at("model.gguf"), "--threads", "1", "--adapter", at("foreign.gguf")], /foreign\.gguf/],
    ["chat with a missing examples file", () => ["chat", "--examples", at("none.jsonl")], /--examples: .*none\.jsonl does not exist/],
    // score, worker, pretrain
    ["score a missing model", () => ["score", "--model", at("none.gguf")], /--model: .*none\.gguf does not exist/],
    ["score --items foo", () => ["score", "--items", "foo"], /--items must be one of/],
    ["score --threads 0", () => ["score", "--threads", "0"], /--threads must be an integer ≥ 1/],
    ["score --test with a missing file", () => ["score", "--test", at("none.jsonl")], /--test: .*none\.jsonl does not exist/],
    ["score --test with an empty file", () => ["score", "--test", at("empty.jsonl")], /empty\.jsonl: no test items/],
    ["build-pool --queue notaurl", () => ["build-pool", "--queue", "notaurl", "--out", OUT], /--queue must be redis:\/\//],
    ["worker --queue notaurl", () => ["worker", "--queue", "notaurl"], /--queue must be redis:\/\//],
    ["pretrain an unknown configuration", () => ["pretrain", "--config", "nosuch"], /--config: "nosuch" is neither device, server nor a readable JSON file/],
    ["pretrain --steps 0", () => ["pretrain", "--steps", "0"], /--steps must be an integer ≥ 1/],
    ["pretrain --out below a regular file", () => ["pretrain", "--out", path.join(at("a-file.txt"), "m.gguf")], /--out: .*a-file\.txt is a file, not a folder/]
];

describe("bad input: one line, non-zero exit, nothing written, within seconds", () => {
    it("has at least 40 cases", () => expect(cases.length).toBeGreaterThanOrEqual(40));

    // in one process, one after the other: runCrayon captures this process's stdout and stderr
    it.each(cases.map((c, i) => [i, ...c] as const))("%i %s", async (index, _name, args, says) => {
        const out = at(`out-${index}`);
        const started = performance.now();
        const run = await runCrayon(args().map((arg) => arg.replace(OUT, out)));
        const ms = performance.now() - started;
        expect(run.code, run.stderr).not.toBe(0);
        expect(run.stderr.trimEnd().split("\n"), run.stderr).toHaveLength(1);
        expect(run.stderr).not.toMatch(/\n\s+at /);
        expect(run.stderr).toMatch(says);
        expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
        expect(ms).toBeLessThan(FEW_SECONDS);
    });
});

/** The installed bin, as a user runs it: its exit code and both streams. */
function crayonBin(args: string[], input = ""): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [path.join(projectRoot, "bin", "crayon.js"), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input);
    return new Promise((resolve) => child.on("exit", (code) => resolve({ code, stdout, stderr })));
}

describe("the bin", () => {
    it("reports the same one line as a separate process, and chat in piped mode exits 1 when a message fails", async () => {
        const [busyPortRun, typo, piped] = await Promise.all([
            crayonBin(["serve", "--model", at("model.gguf"), "--port", String(busyPort)]),
            crayonBin(["blend", "--exmples", "x.jsonl", "--out", at("bin-out")]),
            crayonBin(["chat", "--model", at("model.gguf"), "--threads", "1", "--policy", "device"], "is it? A. yes B. no\n/policy foo\n")
        ]);
        for (const run of [busyPortRun, typo]) {
            expect(run.code).not.toBe(0);
            expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
            expect(run.stderr).not.toMatch(/\n\s+at /);
        }
        expect(busyPortRun.stderr).toMatch(/is already in use/);
        expect(typo.stderr).toMatch(/unknown option '--exmples'/);
        expect(piped.code, piped.stderr).toBe(1);
        const lines = piped.stdout.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^\[device 0\.\d\d\] [AB]\. (yes|no)$/);
        expect(lines[1]).toMatch(/^error: unknown policy "foo"/);
        expect(piped.stderr).toMatch(/crayon: 1 message got an error instead of an answer\n$/);
        expect(piped.stderr).not.toMatch(/\n\s+at /);
    });
});
