import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { CrayonError } from "../../src/errors.js";
import { chooseTrainingEngine, type EngineProbes } from "../../src/train/ggml/engineChoice.js";
import { describeGgml } from "../../src/train/ggml/selfCheck.js";
import { GgmlTrainingProcess } from "../../src/train/ggml/trainingProcess.js";

// The engine choice with the real self-check (run in a child process, as the CLI runs it) and with
// stand-in probes for what this machine cannot show (tfjs-node installed, a GPU build).
const saved = { ...process.env };
let dir: string;

beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "crayon-engine-choice-"));
});
afterEach(() => {
    for (const key of ["CRAYON_GGML_LIB_DIR", "CRAYON_ENGINE", "CRAYON_TF_BACKEND", "CRAYON_GGML_BUILD"]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
    }
});

const cpuMachine: EngineProbes = { tfjsNodeInstalled: () => false, gpuBuild: async () => null, checkGgml: () => GgmlTrainingProcess.check() };

describe("chooseTrainingEngine", () => {
    it("picks wasm here by default (no tfjs-node, a CPU build), and ggml when asked for, naming the device", async () => {
        expect(await chooseTrainingEngine(undefined, cpuMachine)).toMatchObject({ engine: "wasm", line: "training engine: wasm (on a CPU ggml only with --engine ggml)", ggml: null });
        const choice = await chooseTrainingEngine("ggml", cpuMachine);
        expect(choice.engine).toBe("ggml");
        expect(choice.line).toMatch(/^training engine: ggml on CPU \(.+\) \(asked for\)$/);
        expect(choice.ggml).toMatchObject({ ok: true, ggmlVersion: "0.25.1", llamaCppRelease: "v0.5.0" });
        expect(describeGgml(choice.ggml!)).toMatch(/^ggml 0\.25\.1 \(\w+\) from llama\.cpp v0\.5\.0, CPU .*, CPU variant \w+/);
    }, 30_000);

    it("falls back to wasm with one line saying why when the libraries are not where they are looked for", async () => {
        process.env["CRAYON_GGML_LIB_DIR"] = path.join(dir, "no-such-folder");
        const choice = await chooseTrainingEngine("ggml", cpuMachine);
        expect(choice.engine).toBe("wasm");
        expect(choice.line).toBe(`training engine: wasm — ggml unavailable: CRAYON_GGML_LIB_DIR=${path.join(dir, "no-such-folder")} is not a folder`);
        expect(process.env["CRAYON_TF_BACKEND"]).toBe("wasm");
    }, 30_000);

    it("falls back when the libraries fail to load, also when ggml was asked for", async () => {
        const broken = path.join(dir, "broken");
        await rm(broken, { recursive: true, force: true });
        await import("node:fs/promises").then((fs) => fs.mkdir(broken));
        await writeFile(path.join(broken, "libggml-base.so"), "not a shared library");
        process.env["CRAYON_GGML_LIB_DIR"] = broken;
        const choice = await chooseTrainingEngine("ggml", cpuMachine);
        expect(choice.engine).toBe("wasm");
        expect(choice.line).toMatch(/^training engine: wasm — ggml unavailable: its libraries do not load \(.+\)$/);
        expect(choice.line).not.toContain("\n");
    }, 30_000);

    it("follows --engine, then CRAYON_ENGINE; tfjs-node where installed; refuses an unknown engine", async () => {
        const unchecked: EngineProbes = { ...cpuMachine, checkGgml: async () => ({ ok: false, reason: "not consulted" }) };
        expect((await chooseTrainingEngine("wasm", unchecked)).engine).toBe("wasm");
        process.env["CRAYON_ENGINE"] = "tensorflow";
        expect(await chooseTrainingEngine(undefined, unchecked)).toMatchObject({ engine: "tensorflow", line: "training engine: tensorflow (asked for)" });
        expect(process.env["CRAYON_TF_BACKEND"]).toBe("tensorflow");
        delete process.env["CRAYON_ENGINE"];
        expect((await chooseTrainingEngine(undefined, { ...unchecked, tfjsNodeInstalled: () => true })).line).toBe("training engine: tensorflow (tfjs-node is installed)");
        await expect(chooseTrainingEngine("torch", unchecked)).rejects.toThrow(CrayonError);
        await expect(chooseTrainingEngine("torch", unchecked)).rejects.toThrow("--engine torch is not an engine: use one of ggml, tensorflow, wasm");
    });

    it("prefers ggml on a GPU build even where tfjs-node is installed", async () => {
        const gpuMachine: EngineProbes = { tfjsNodeInstalled: () => true, gpuBuild: async () => "linux-x64-cuda", checkGgml: async () => ({ ok: true, device: "GPU (stand-in)" }) };
        const choice = await chooseTrainingEngine(undefined, gpuMachine);
        expect(choice).toMatchObject({ engine: "ggml", line: "training engine: ggml on GPU (stand-in) (linux-x64-cuda build)" });
        expect(process.env["CRAYON_GGML_BUILD"]).toBe("linux-x64-cuda");
    });

    it("a GPU build failing its self-check falls back to the CPU build (or to tfjs-node where installed)", async () => {
        const checked: (string | undefined)[] = [];
        const probes: EngineProbes = {
            tfjsNodeInstalled: () => false,
            gpuBuild: async () => "linux-x64-cuda",
            checkGgml: async () => {
                checked.push(process.env["CRAYON_GGML_BUILD"]);
                return process.env["CRAYON_GGML_BUILD"] === undefined ? { ok: true, device: "CPU (stand-in)" } : { ok: false, reason: "libcuda.so.1 is missing" };
            }
        };
        expect(await chooseTrainingEngine(undefined, probes)).toMatchObject({ engine: "ggml", line: "training engine: ggml on CPU (stand-in) (the linux-x64-cuda build failed its self-check)" });
        expect(checked).toEqual(["linux-x64-cuda", undefined]);
        expect((await chooseTrainingEngine(undefined, { ...probes, tfjsNodeInstalled: () => true })).line).toBe("training engine: tensorflow — the linux-x64-cuda build of ggml failed: libcuda.so.1 is missing");
    });
});
