import { beforeAll, describe, expect, it } from "vitest";
import { drawShots } from "../../src/data/benchmark/drawShots.js";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { Benchmark } from "../../src/data/benchmark/types.js";
import { questionKey, type QaItem } from "../../src/data/item.js";
import { compileCli, runCrayon } from "./cli.js";
import { hasQaData, qaDataDir, skipReason } from "./qaData.js";

/** No test item may appear in training data, neither by id nor by question text. */
function expectNoTestLeak(training: QaItem[], benchmark: Benchmark): void {
    const tests = [...benchmark.userTasks.flatMap((t) => t.test), ...benchmark.outOfScope];
    const ids = new Set(tests.map((i) => i.id));
    const keys = new Set(tests.map(questionKey));
    expect(training.filter((i) => ids.has(i.id))).toEqual([]);
    expect(training.filter((i) => keys.has(questionKey(i)))).toEqual([]);
}

describe("the world benchmark", () => {
    let benchmark: Benchmark;
    beforeAll(async () => {
        benchmark = await loadBenchmark("world");
    });

    it("resolves pool, user tasks, out-of-scope queries and the pre-training corpus", () => {
        expect(benchmark.name).toBe("world");
        expect(benchmark.pool.length).toBe(9700);
        expect(benchmark.userTasks.map((t) => t.task)).toEqual(["arith.sub", "rank.min", "spell.last", "clock.day_minus", "atlas.quiz", "zoo.quiz"]);
        for (const task of benchmark.userTasks) {
            expect(task.test).toHaveLength(100);
            expect(task.shots).toHaveLength(64);
            expect(new Set(task.test.map((i) => i.question)).size).toBe(100);
        }
        expect(benchmark.outOfScope).toHaveLength(260);
        expect(benchmark.pretrain).toHaveLength(43912);
        expect(benchmark.composition.every((row) => row.droppedAsTestOverlap === 0)).toBe(true);
    });

    it("holds one user task out of the pool in every pool domain, and keeps out-of-scope domains out of the pool", () => {
        const domainOf = (task: string) => task.split(".")[0]!;
        const poolTasks = new Set(benchmark.pool.map((i) => i.task));
        const poolDomains = new Set([...poolTasks].map(domainOf));
        expect(poolDomains.size).toBe(6);
        for (const task of benchmark.userTasks) expect(poolTasks.has(task.task)).toBe(false);
        expect(new Set(benchmark.userTasks.map((t) => domainOf(t.task)))).toEqual(poolDomains);
        for (const item of benchmark.outOfScope) expect(poolDomains.has(domainOf(item.task))).toBe(false);
    });

    it("never lets a test item into the pool, the shot candidates or the pre-training corpus", () => {
        expectNoTestLeak(benchmark.pool, benchmark);
        expectNoTestLeak(benchmark.userTasks.flatMap((t) => t.shots), benchmark);
        expectNoTestLeak(benchmark.pretrain!, benchmark);
        // and the corpus holds everything else: the pool and every shot candidate
        const pretrainIds = new Set(benchmark.pretrain!.map((i) => i.id));
        for (const item of [...benchmark.pool, ...benchmark.userTasks.flatMap((t) => t.shots)]) expect(pretrainIds.has(item.id)).toBe(true);
    });

    it("splits every pool task into a pre-training part and the pool's part, in the task's item order", () => {
        const poolIds = new Set(benchmark.pool.map((item) => item.id));
        for (const task of new Set(benchmark.pool.map((item) => item.task))) {
            const ofTask = benchmark.pretrain!.filter((item) => item.task === task);
            const firstPoolItem = ofTask.findIndex((item) => poolIds.has(item.id));
            expect(firstPoolItem, task).toBeGreaterThan(0);
            expect(ofTask.slice(firstPoolItem).every((item) => poolIds.has(item.id)), task).toBe(true);
            expect(ofTask.map((item) => item.id)).toEqual(ofTask.map((item) => item.id).sort());
        }
    });

    it("teaches every fact a knowledge test item asks about through another phrasing in the corpus", () => {
        const { lands, creatures } = benchmark.world!.facts;
        const corpus = benchmark.pretrain!.map((i) => i.question).join("\n");
        for (const task of benchmark.userTasks.filter((t) => /quiz$/.test(t.task))) {
            for (const item of task.test) {
                const entity = [...lands, ...creatures].find((e) => new RegExp(`\\b${e.name}\\b`).test(item.question));
                expect(entity, item.question).toBeDefined();
                expect(corpus).toContain(`${entity!.name}?`);
            }
        }
    });

    it("draws k shots with a fixed seed, without repeats", () => {
        const task = benchmark.userTasks[0]!;
        const shots = drawShots(task, 8, 1);
        expect(shots).toEqual(drawShots(task, 8, 1));
        expect(shots).not.toEqual(drawShots(task, 8, 2));
        expect(new Set(shots.map((s) => s.id)).size).toBe(8);
        const candidateIds = new Set(task.shots.map((s) => s.id));
        for (const shot of shots) expect(candidateIds.has(shot.id)).toBe(true);
        expect(() => drawShots(task, 65, 1)).toThrow(/64 shot candidates/);
    });
});

describe.skipIf(!hasQaData)(`the crayon-qa benchmark (${hasQaData ? qaDataDir : skipReason})`, () => {
    it("loads from the raw files with disjoint pool, shots and test", async () => {
        const benchmark = await loadBenchmark("crayon-qa", { dataDir: qaDataDir });
        expect(benchmark.pool).toHaveLength(5000);
        expect(benchmark.userTasks.map((t) => [t.task, t.shots.length, t.test.length])).toEqual([
            ["arc-challenge", 100, 500], ["boolq", 100, 500], ["piqa", 100, 500], ["mmlu.humanities", 100, 500]
        ]);
        expect(benchmark.outOfScope).toHaveLength(300);
        expect(benchmark.pretrain).toBeUndefined();
        expectNoTestLeak(benchmark.pool, benchmark);
        expectNoTestLeak(benchmark.userTasks.flatMap((t) => t.shots), benchmark);
        const humanities = new Set(["philosophy", "prehistory", "professional_law", "world_religions", "formal_logic"]);
        expect(benchmark.pool.some((i) => humanities.has(i.task))).toBe(false);
    });

    it("refuses to run without a data directory", async () => {
        await expect(loadBenchmark("crayon-qa")).rejects.toThrow(/--data-dir/);
    });
});

describe("crayon benchmark (CLI)", () => {
    beforeAll(compileCli);

    it("prints the composition of the world benchmark as a table", () => {
        const out = runCrayon(["benchmark", "world"]).stdout;
        expect(out).toMatch(/^task\s+role\s+part\s+from\s+items/m);
        expect(out).toMatch(/^atlas\.quiz\s+user\s+test\s+world\s+100$/m);
        expect(out).toMatch(/^forge\.quiz\s+out-of-scope\s+test\s+world\s+60$/m);
        expect(out).toMatch(/^pool: 9700$/m);
    });

    it("prints it as JSON with --json", () => {
        const out = runCrayon(["benchmark", "world", "--json"]).stdout;
        const json = JSON.parse(out) as { name: string; tasks: { task: string; part: string; items: number }[]; totals: Record<string, number> };
        expect(json.name).toBe("world");
        expect(json.totals).toEqual({ pool: 9700, shotCandidates: 384, userTest: 600, outOfScope: 260, pretrain: 43912 });
        expect(json.tasks.find((t) => t.task === "arith.sub" && t.part === "test")?.items).toBe(100);
    });

    it.skipIf(!hasQaData)("prints crayon-qa from --data-dir, and fails in one line without it", () => {
        const out = runCrayon(["benchmark", "crayon-qa", "--data-dir", qaDataDir, "--json"]).stdout;
        expect((JSON.parse(out) as { totals: { pool: number } }).totals.pool).toBe(5000);
        const missing = runCrayon(["benchmark", "crayon-qa"]);
        expect(missing.status).not.toBe(0);
        expect(missing.stderr.trim().split("\n")).toHaveLength(1);
        expect(missing.stderr).toMatch(/--data-dir/);
    });

    it("names the shipped benchmarks when an unknown one is asked for", () => {
        const result = runCrayon(["benchmark", "nope"]);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/unknown benchmark "nope".*crayon-qa, world/);
    });
});
