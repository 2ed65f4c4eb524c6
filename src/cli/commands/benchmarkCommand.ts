import type { Command } from "commander";
import { loadBenchmark } from "../../data/benchmark/loadBenchmark.js";
import type { Benchmark } from "../../data/benchmark/types.js";
import { textTable } from "../../format/textTable.js";

interface BenchmarkCommandOptions {
    dataDir?: string;
    json?: boolean;
}

/** `crayon benchmark [name|file]`: what a benchmark is made of — tasks, roles, item counts. */
export function registerBenchmarkCommand(program: Command): void {
    program
        .command("benchmark")
        .description("show a benchmark's composition: pool tasks, user tasks (shots + test), out-of-scope queries")
        .argument("[benchmark]", "a shipped benchmark name (world, crayon-qa) or a definition .json file", "world")
        .option("--data-dir <dir>", "folder with the public datasets in their release layout (for crayon-qa)")
        .option("--json", "print the composition as JSON")
        .action(async (name: string, options: BenchmarkCommandOptions) => {
            const benchmark = await loadBenchmark(name, { dataDir: options.dataDir });
            process.stdout.write(options.json ? `${JSON.stringify(compositionJson(benchmark), null, 2)}\n` : compositionTable(benchmark));
        });
}

function totals(benchmark: Benchmark) {
    return {
        pool: benchmark.pool.length,
        shotCandidates: benchmark.userTasks.reduce((n, t) => n + t.shots.length, 0),
        userTest: benchmark.userTasks.reduce((n, t) => n + t.test.length, 0),
        outOfScope: benchmark.outOfScope.length,
        ...(benchmark.pretrain === undefined ? {} : { pretrain: benchmark.pretrain.length })
    };
}

function compositionJson(benchmark: Benchmark) {
    return {
        name: benchmark.name,
        version: benchmark.version,
        description: benchmark.description,
        file: benchmark.file,
        tasks: benchmark.composition,
        totals: totals(benchmark)
    };
}

function compositionTable(benchmark: Benchmark): string {
    const header = ["task", "role", "part", "from", "items", "dropped"];
    const rows = benchmark.composition.map((r) => [r.task, r.role, r.part, r.from, String(r.items), r.droppedAsTestOverlap ? String(r.droppedAsTestOverlap) : ""]);
    const out = [`${benchmark.name} v${benchmark.version} — ${benchmark.description}`, "", ...textTable(header, rows, (i) => i >= 4), ""];
    for (const [key, value] of Object.entries(totals(benchmark))) out.push(`${key}: ${value}`);
    return `${out.join("\n")}\n`;
}
