import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { CrayonError } from "../../errors.js";
import { projectRoot } from "../../version.js";
import { questionKey, type QaItem } from "../item.js";
import type { ScoringMode } from "../prompt.js";
import { loadPublicSplit } from "../loaders/publicDatasets.js";
import { createRng } from "../random.js";
import { createWorld, type World } from "../world/world.js";
import { validateDefinition, type BenchmarkDefinition, type Selection, type TaskEntry, type TaskPart } from "./definition.js";
import type { Benchmark, CompositionRow, UserTask } from "./types.js";

/** Benchmarks shipped with Crayon: `datasets/<name>.json`. */
export const BENCHMARKS_DIR = path.join(projectRoot, "datasets");

export interface LoadBenchmarkOptions {
    /** Folder holding the public datasets in their release layout (`mmlu/`, `arc/`, `boolq/`, …). */
    dataDir?: string;
    /** Scores every item this way, whatever the definition names (`--scoring`). */
    scoring?: ScoringMode;
}

/** Names of the shipped benchmarks. */
export async function listBenchmarks(): Promise<string[]> {
    return (await readdir(BENCHMARKS_DIR)).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5)).sort();
}

/** Reads a benchmark by shipped name (`world`, `crayon-qa`) or definition file path and resolves every item. */
export async function loadBenchmark(nameOrPath: string, options: LoadBenchmarkOptions = {}): Promise<Benchmark> {
    const file = await definitionFile(nameOrPath);
    let json: unknown;
    try {
        json = JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
        throw new CrayonError(`${file}: not a valid benchmark definition (${(error as Error).message})`);
    }
    const def = validateDefinition(json, file);
    const world = def.world === undefined ? undefined : createWorld(def.world);
    const source = world === undefined ? publicSource(def, file, options.dataDir) : worldSource(world, file);
    const parts = new Map<string, Partial<Record<TaskPart, { items: QaItem[]; from: string }>>>();
    for (const entry of def.tasks) {
        const scoring = options.scoring ?? entry.scoring ?? def.scoring ?? "letter";
        const resolved = await source(entry);
        for (const part of Object.values(resolved)) part.items = part.items.map((item) => ({ ...item, scoring }));
        parts.set(entry.task, resolved);
    }

    // a test item must never be seen in training: drop any training item that repeats one (by id or question)
    const testIds = new Set<string>();
    const testKeys = new Set<string>();
    for (const entryParts of parts.values()) {
        for (const item of entryParts.test?.items ?? []) {
            testIds.add(item.id);
            testKeys.add(questionKey(item));
        }
    }
    const composition: CompositionRow[] = [];
    const collected: Record<TaskPart, Map<string, QaItem[]>> = { pool: new Map(), shots: new Map(), test: new Map(), pretrain: new Map() };
    for (const entry of def.tasks) {
        for (const [part, resolved] of Object.entries(parts.get(entry.task)!) as [TaskPart, { items: QaItem[]; from: string }][]) {
            const kept = part === "test" ? resolved.items : resolved.items.filter((item) => !testIds.has(item.id) && !testKeys.has(questionKey(item)));
            collected[part].set(entry.task, kept);
            composition.push({ task: entry.task, role: entry.role, part, from: resolved.from, items: kept.length, droppedAsTestOverlap: resolved.items.length - kept.length });
        }
    }
    const tasksOf = (role: TaskEntry["role"]) => def.tasks.filter((entry) => entry.role === role).map((entry) => entry.task);
    const all = (part: TaskPart, tasks: string[]) => tasks.flatMap((task) => collected[part].get(task) ?? []);
    const pool = all("pool", tasksOf("pool"));
    const userTasks: UserTask[] = tasksOf("user").map((task) => ({ task, shots: collected.shots.get(task)!, test: collected.test.get(task)! }));
    const benchmark: Benchmark = {
        name: def.name,
        version: def.version,
        description: def.description,
        file,
        pool,
        userTasks,
        outOfScope: all("test", tasksOf("out-of-scope")),
        composition
    };
    if (world !== undefined) {
        // the embedded models may learn everything of the world except what is held out for testing and the
        // user's examples; a pool task's items come in their stream's order (its pre-training split, then
        // the pool's items); the server's own items (server and out-of-scope tasks) come last
        const poolTaskItems = tasksOf("pool").flatMap((task) => [...(collected.pretrain.get(task) ?? []), ...collected.pool.get(task)!]);
        const serverOnly = all("pretrain", [...tasksOf("server"), ...tasksOf("out-of-scope")]);
        benchmark.pretrain = [...poolTaskItems, ...all("pretrain", [...tasksOf("user"), ...tasksOf("pretrain")]), ...serverOnly];
        benchmark.serverOnly = serverOnly;
        benchmark.world = world;
    }
    return benchmark;
}

async function definitionFile(nameOrPath: string): Promise<string> {
    const looksLikePath = nameOrPath.endsWith(".json") || nameOrPath.includes("/") || nameOrPath.includes(path.sep);
    if (looksLikePath) return path.resolve(nameOrPath);
    const known = await listBenchmarks();
    if (!known.includes(nameOrPath)) {
        throw new CrayonError(`unknown benchmark "${nameOrPath}"; shipped benchmarks: ${known.join(", ")} (or give a definition .json file)`);
    }
    return path.join(BENCHMARKS_DIR, `${nameOrPath}.json`);
}

type PartResolver = (entry: TaskEntry) => Promise<Partial<Record<TaskPart, { items: QaItem[]; from: string }>>>;

/** World tasks: one stable item sequence per task, cut in the order test | shots | pretrain | pool. */
function worldSource(world: World, file: string): PartResolver {
    return async (entry) => {
        const info = world.tasks.find((t) => t.task === entry.task);
        if (info === undefined) throw new CrayonError(`${file}: unknown world task "${entry.task}"`);
        if (info.distinctQuestions === 0) throw new CrayonError(`${file}: world task "${entry.task}" has no questions in this world (a .far. task needs "far" in "world")`);
        const order: TaskPart[] = ["test", "shots", "pretrain", "pool"];
        const counts = order.map((part) => (entry[part] as number | undefined) ?? 0);
        const total = counts.reduce((a, b) => a + b, 0);
        // with held-out items every question must be distinct, or a test question would also be trained on
        if (entry.test !== undefined && total > info.distinctQuestions) {
            throw new CrayonError(`${file}: world task "${entry.task}" has ${info.distinctQuestions} distinct questions but ${total} items are asked for; ask for fewer or enlarge the world`);
        }
        const items = world.items(entry.task, total);
        const out: Partial<Record<TaskPart, { items: QaItem[]; from: string }>> = {};
        let start = 0;
        order.forEach((part, i) => {
            if (entry[part] !== undefined) out[part] = { items: items.slice(start, start + counts[i]!), from: "world" };
            start += counts[i]!;
        });
        return out;
    };
}

/** Public dataset tasks: each selection is a seeded shuffle of a split, sliced by offset and count. */
function publicSource(def: BenchmarkDefinition, file: string, dataDir: string | undefined): PartResolver {
    if (dataDir === undefined) {
        throw new CrayonError(`benchmark "${def.name}" reads public datasets: give --data-dir, a folder with mmlu/, arc/, boolq/, piqa/, siqa/ and winogrande/ in their release layout`);
    }
    const cache = new Map<string, Promise<QaItem[]>>();
    const shuffled = (selection: Selection, subjects: string[] | undefined, key: string) => {
        let items = cache.get(key);
        if (items === undefined) {
            items = loadPublicSplit(dataDir, selection.dataset, selection.split, subjects).then((list) => createRng(`${def.seed}:${key}`).shuffle(list));
            cache.set(key, items);
        }
        return items;
    };
    return async (entry) => {
        const out: Partial<Record<TaskPart, { items: QaItem[]; from: string }>> = {};
        for (const part of ["pool", "shots", "test"] as const) {
            const selection = entry[part] as Selection | undefined;
            if (selection === undefined) continue;
            const subjects = selection.group !== undefined ? def.subjectGroups![selection.group]! : selection.subjects;
            const from = [selection.dataset, selection.split, selection.group ?? (selection.subjects ? selection.subjects.join("+") : undefined)].filter(Boolean).join("/");
            const items = await shuffled(selection, subjects, from);
            const offset = selection.offset ?? 0;
            const count = selection.count ?? items.length - offset;
            if (offset + count > items.length) {
                throw new CrayonError(`${file}: task "${entry.task}" asks for items ${offset}..${offset + count} of ${from}, which has ${items.length}`);
            }
            out[part] = { items: items.slice(offset, offset + count), from };
        }
        return out;
    };
}
