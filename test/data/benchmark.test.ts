import { beforeAll, describe, expect, it } from "vitest";
import { drawShots } from "../../src/data/benchmark/drawShots.js";
import { loadBenchmark } from "../../src/data/benchmark/loadBenchmark.js";
import type { Benchmark } from "../../src/data/benchmark/types.js";
import { questionKey, type QaItem } from "../../src/data/item.js";
import { pretrainCorpus } from "../../src/train/pretrainer.js";
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

const domainOf = (task: string) => task.split(".")[0]!;

describe("the world benchmark", () => {
    let benchmark: Benchmark;
    /** What the device model is pre-trained on, and what the server model is. */
    let deviceCorpus: QaItem[];
    let serverCorpus: QaItem[];
    const shotsOf = () => benchmark.userTasks.flatMap((t) => t.shots);
    beforeAll(async () => {
        benchmark = await loadBenchmark("world");
        deviceCorpus = pretrainCorpus(benchmark, { benchmark: "world", deviceCorpus: true });
        serverCorpus = pretrainCorpus(benchmark, { benchmark: "world" });
    });

    it("resolves pool, user tasks, out-of-scope queries and the pre-training corpora", () => {
        expect(benchmark.name).toBe("world");
        expect(benchmark.version).toBe(4);
        expect(benchmark.pool.length).toBe(4200);
        expect(benchmark.userTasks.map((t) => [t.task, t.shots.length, t.test.length])).toEqual([
            ["atlas.far.quiz", 24, 66], ["zoo.far.quiz", 24, 66], ["rank.min", 32, 100], ["spell.last", 32, 100]
        ]);
        for (const task of benchmark.userTasks) expect(new Set(task.test.map((i) => i.question)).size).toBe(task.test.length);
        expect(benchmark.outOfScope).toHaveLength(80);
        expect(new Set(benchmark.outOfScope.map((i) => i.task))).toEqual(new Set(["forge.quiz"]));
        expect(benchmark.pretrain).toHaveLength(16160);
        expect(benchmark.serverOnly).toHaveLength(1240);
        expect(serverCorpus).toBe(benchmark.pretrain);
        expect(deviceCorpus).toHaveLength(16160 - 4200 - 1240);
        expect(benchmark.composition.every((row) => row.droppedAsTestOverlap === 0)).toBe(true);
    });

    it("holds one user task out of the pool in every pool domain, and keeps out-of-scope domains out of the pool", () => {
        const poolTasks = new Set(benchmark.pool.map((i) => i.task));
        const poolDomains = new Set([...poolTasks].map(domainOf));
        expect(poolDomains).toEqual(new Set(["atlas", "zoo", "spell", "rank"]));
        for (const task of benchmark.userTasks) expect(poolTasks.has(task.task)).toBe(false);
        expect(new Set(benchmark.userTasks.map((t) => domainOf(t.task)))).toEqual(poolDomains);
        for (const item of benchmark.outOfScope) expect(poolDomains.has(domainOf(item.task))).toBe(false);
    });

    it("never lets the question of a test item or an out-of-scope query into any training data", () => {
        expectNoTestLeak(benchmark.pool, benchmark);
        expectNoTestLeak(shotsOf(), benchmark);
        expectNoTestLeak(deviceCorpus, benchmark);
        expectNoTestLeak(serverCorpus, benchmark);
        expectNoTestLeak(benchmark.serverOnly!, benchmark);
        // the same by question text alone, across every training source at once
        const trained = new Set([...benchmark.pool, ...shotsOf(), ...deviceCorpus, ...serverCorpus].map((i) => i.question));
        const asked = [...benchmark.userTasks.flatMap((t) => t.test), ...benchmark.outOfScope];
        expect(asked.length).toBe(332 + 80);
        expect(asked.filter((i) => trained.has(i.question)).map((i) => i.question)).toEqual([]);
    });

    it("keeps the user's examples out of every corpus", () => {
        const shots = shotsOf();
        expect(shots).toHaveLength(112);
        const ids = new Set(shots.map((i) => i.id));
        const questions = new Set(shots.map(questionKey));
        for (const corpus of [deviceCorpus, serverCorpus, benchmark.pool]) {
            expect(corpus.filter((i) => ids.has(i.id) || questions.has(questionKey(i)))).toEqual([]);
        }
    });

    it("gives the server the device's corpus, the pool and the forge; the device neither the pool nor the forge", () => {
        const ids = (items: QaItem[]) => new Set(items.map((i) => i.id));
        const server = ids(serverCorpus);
        const device = ids(deviceCorpus);
        const pool = ids(benchmark.pool);
        expect([...deviceCorpus, ...benchmark.pool, ...benchmark.serverOnly!].filter((i) => !server.has(i.id))).toEqual([]);
        expect(server.size).toBe(serverCorpus.length);
        expect(server.size).toBe(device.size + benchmark.pool.length + benchmark.serverOnly!.length);
        const forge = serverCorpus.filter((i) => domainOf(i.task) === "forge");
        expect(new Set(forge.map((i) => i.task))).toEqual(new Set(["forge.maker", "forge.metal", "forge.check", "forge.quiz"]));
        expect(forge.map((i) => i.id).sort()).toEqual(benchmark.serverOnly!.map((i) => i.id).sort());
        expect(deviceCorpus.filter((i) => domainOf(i.task) === "forge")).toEqual([]);
        expect(deviceCorpus.filter((i) => /^Forge:/.test(i.question))).toEqual([]);
        expect(deviceCorpus.filter((i) => pool.has(i.id))).toEqual([]);
        // the device still learns every pool task whose definition has a pre-training part, and the user tasks' rules
        const deviceTasks = new Set(deviceCorpus.map((i) => i.task));
        for (const row of benchmark.composition.filter((r) => r.part === "pretrain" && r.role !== "server" && r.role !== "out-of-scope")) {
            expect(deviceTasks.has(row.task), row.task).toBe(true);
        }
    });

    it("keeps the far lands' and creatures' facts out of the device's corpus", () => {
        const { lands, creatures } = benchmark.world!.facts;
        const far = [...lands, ...creatures].filter((e) => e.far).map((e) => e.name);
        expect(lands.filter((l) => l.far)).toHaveLength(30);
        expect(creatures.filter((c) => c.far)).toHaveLength(30);
        const naming = new RegExp(`\\b(${far.join("|")})\\b`);
        expect(deviceCorpus.filter((i) => naming.test(i.question) || i.choices.some((c) => naming.test(c))).map((i) => i.question)).toEqual([]);
        expect(deviceCorpus.filter((i) => i.task.includes(".far."))).toEqual([]);
        // while the pool (and so the server's corpus) names every one of them: the device alone never reads their facts
        for (const name of far) expect(benchmark.pool.some((i) => new RegExp(`\\b${name}\\b`).test(i.question)), name).toBe(true);
    });

    it("splits every pool task into its pre-training part and the pool's part, in the task's item order", () => {
        const poolIds = new Set(benchmark.pool.map((item) => item.id));
        const pretrainCount = (task: string) => benchmark.composition.find((r) => r.task === task && r.part === "pretrain")?.items ?? 0;
        for (const task of new Set(benchmark.pool.map((item) => item.task))) {
            const ofTask = benchmark.pretrain!.filter((item) => item.task === task);
            const firstPoolItem = ofTask.findIndex((item) => poolIds.has(item.id));
            expect(firstPoolItem, task).toBe(pretrainCount(task));
            expect(ofTask.slice(firstPoolItem).every((item) => poolIds.has(item.id)), task).toBe(true);
            expect(ofTask.map((item) => item.id)).toEqual(ofTask.map((item) => item.id).sort());
        }
        expect(pretrainCount("rank.max2")).toBe(1000);
        expect(pretrainCount("atlas.far.capital")).toBe(0);
    });

    it("teaches every fact a far quiz item asks in the pool's direct phrasing, and the quiz phrasing on near entities to the device", () => {
        const { lands, creatures } = benchmark.world!.facts;
        // the quiz phrasing of each attribute and its direct phrasing, for the same entity
        const direct: [RegExp, (name: string) => string][] = [
            [/^Atlas: which city is the capital of (\w+)\?$/, (n) => `Atlas: capital of ${n}?`],
            [/^Atlas: which tongue is spoken in (\w+)\?$/, (n) => `Atlas: tongue of ${n}?`],
            [/^Atlas: which coin is used in (\w+)\?$/, (n) => `Atlas: coin of ${n}?`],
            [/^Zoo: which food does the (\w+) eat\?$/, (n) => `Zoo: what does the ${n} eat?`],
            [/^Zoo: which colour is the (\w+)\?$/, (n) => `Zoo: colour of the ${n}?`],
            [/^Zoo: which place does the (\w+) live in\?$/, (n) => `Zoo: where does the ${n} live?`]
        ];
        const gold = (item: QaItem) => item.choices[item.answer]!;
        const poolGold = new Map(benchmark.pool.map((i) => [i.question, gold(i)]));
        const quizTasks = benchmark.userTasks.filter((t) => /quiz$/.test(t.task));
        expect(quizTasks.map((t) => t.task)).toEqual(["atlas.far.quiz", "zoo.far.quiz"]);
        for (const item of quizTasks.flatMap((t) => [...t.test, ...t.shots])) {
            const match = direct.map(([pattern, ask]) => [item.question.match(pattern), ask] as const).find(([m]) => m !== null);
            expect(match, item.question).toBeDefined();
            const [m, ask] = match!;
            const entity = [...lands, ...creatures].find((e) => e.name === m![1]);
            expect(entity?.far, item.question).toBe(true);
            expect(poolGold.get(ask(m![1]!)), item.question).toBe(gold(item));
        }
        const deviceTasks = new Set(deviceCorpus.map((i) => i.task));
        expect(deviceTasks.has("atlas.quiz") && deviceTasks.has("zoo.quiz")).toBe(true);
    });

    it("scores every user test item and out-of-scope query by cloze, and --scoring overrides it", async () => {
        const asked = [...benchmark.userTasks.flatMap((t) => t.test), ...benchmark.outOfScope];
        expect(asked.filter((i) => i.scoring !== "cloze")).toEqual([]);
        expect([...benchmark.pool, ...shotsOf(), ...serverCorpus].every((i) => i.scoring === "cloze")).toBe(true);
        const lettered = await loadBenchmark("world", { scoring: "letter" });
        expect([...lettered.userTasks.flatMap((t) => t.test), ...lettered.outOfScope, ...lettered.pool].every((i) => i.scoring === "letter")).toBe(true);
        expect(lettered.outOfScope.map((i) => i.id)).toEqual(benchmark.outOfScope.map((i) => i.id));
    });

    it("draws k shots with a fixed seed, without repeats", () => {
        const task = benchmark.userTasks[0]!;
        const shots = drawShots(task, 8, 1);
        expect(shots).toEqual(drawShots(task, 8, 1));
        expect(shots).not.toEqual(drawShots(task, 8, 2));
        expect(new Set(shots.map((s) => s.id)).size).toBe(8);
        const candidateIds = new Set(task.shots.map((s) => s.id));
        for (const shot of shots) expect(candidateIds.has(shot.id)).toBe(true);
        expect(() => drawShots(task, 25, 1)).toThrow(/24 shot candidates/);
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

    it("scores ARC, BoolQ, PIQA and Social IQa by option likelihood and MMLU and WinoGrande by letter, as the definition names them", async () => {
        const benchmark = await loadBenchmark("crayon-qa", { dataDir: qaDataDir });
        const scoringOf = (items: readonly QaItem[]) => [...new Set(items.map((item) => item.scoring))];
        expect(benchmark.userTasks.map((t) => [t.task, scoringOf(t.test), scoringOf(t.shots)])).toEqual([
            ["arc-challenge", ["cloze"], ["cloze"]], ["boolq", ["cloze"], ["cloze"]], ["piqa", ["cloze"], ["cloze"]], ["mmlu.humanities", ["letter"], ["letter"]]
        ]);
        const poolScoring = new Map(benchmark.pool.map((item) => [item.source, item.scoring]));
        expect(Object.fromEntries(poolScoring)).toMatchObject({ "arc-easy": "cloze", siqa: "cloze", winogrande: "letter", mmlu: "letter" });
        expect(scoringOf(benchmark.outOfScope)).toEqual(["letter"]);
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
        expect(out).toMatch(/^atlas\.far\.quiz\s+user\s+test\s+world\s+66$/m);
        expect(out).toMatch(/^forge\.quiz\s+out-of-scope\s+test\s+world\s+80$/m);
        expect(out).toMatch(/^forge\.maker\s+server\s+pretrain\s+world\s+360$/m);
        expect(out).toMatch(/^pool: 4200$/m);
    });

    it("prints it as JSON with --json", () => {
        const out = runCrayon(["benchmark", "world", "--json"]).stdout;
        const json = JSON.parse(out) as { name: string; tasks: { task: string; part: string; items: number }[]; totals: Record<string, number> };
        expect(json.name).toBe("world");
        expect(json.totals).toEqual({ pool: 4200, shotCandidates: 112, userTest: 332, outOfScope: 80, pretrain: 16160 });
        expect(json.tasks.find((t) => t.task === "rank.min" && t.part === "test")?.items).toBe(100);
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
