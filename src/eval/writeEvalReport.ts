import path from "node:path";
import { writeFileAtomic } from "../fs/atomicWrite.js";
import { removePartialResults } from "./partialResults.js";
import { writePlots } from "./plots.js";
import { summaryTable } from "./summaryTable.js";
import type { EvalResults } from "./types.js";

/** Writes a run's results.json, summary.txt and plots into `outDir`, where a finished run keeps no partial results; returns the table and the files. */
export async function writeEvalReport(results: EvalResults, outDir: string): Promise<{ summary: string; files: string[] }> {
    const summary = summaryTable(results);
    const files = [path.join(outDir, "results.json"), path.join(outDir, "summary.txt")];
    writeFileAtomic(files[0]!, [`${JSON.stringify(results, null, 2)}\n`]);
    writeFileAtomic(files[1]!, [summary]);
    files.push(...(await writePlots(results, outDir)));
    removePartialResults(outDir);
    return { summary, files };
}
