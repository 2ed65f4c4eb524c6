import path from "node:path";
import { CrayonError } from "../../errors.js";
import type { QaItem } from "../item.js";
import { loadArc } from "./arc.js";
import { loadBoolq } from "./boolq.js";
import { loadMmluSplit } from "./mmlu.js";
import { loadPiqa } from "./piqa.js";
import { loadSiqa } from "./siqa.js";
import { loadWinogrande } from "./winogrande.js";

/**
 * Where each public dataset's splits live below a data directory laid out as the original releases
 * (`mmlu/data/<split>/`, `arc/ARC-Easy/ARC-Easy-Test.jsonl`, `piqa/valid.jsonl` + `valid-labels.lst`, …),
 * and which splits have no public labels.
 */
interface DatasetLayout {
    splits: readonly string[];
    /** Splits released without gold labels: refused, because nothing can be scored on them. */
    unlabeled: readonly string[];
    load(dataDir: string, split: string, subjects?: readonly string[]): Promise<QaItem[]>;
}

const arcLayout = (folder: string, source: "arc-easy" | "arc-challenge"): DatasetLayout => ({
    splits: ["train", "dev", "test"],
    unlabeled: [],
    load: (dataDir, split) => {
        const capital = split[0]!.toUpperCase() + split.slice(1);
        return loadArc(path.join(dataDir, "arc", folder, `${folder}-${capital}.jsonl`), source);
    }
});

export const PUBLIC_DATASETS: Readonly<Record<string, DatasetLayout>> = {
    mmlu: {
        splits: ["dev", "val", "test"],
        unlabeled: [],
        load: (dataDir, split, subjects) => loadMmluSplit(path.join(dataDir, "mmlu"), split, subjects)
    },
    "arc-easy": arcLayout("ARC-Easy", "arc-easy"),
    "arc-challenge": arcLayout("ARC-Challenge", "arc-challenge"),
    boolq: {
        splits: ["train", "val"],
        unlabeled: ["test"],
        load: (dataDir, split) => loadBoolq(path.join(dataDir, "boolq", `${split}.jsonl`))
    },
    piqa: {
        splits: ["train", "valid"],
        unlabeled: ["tests"],
        load: (dataDir, split) => loadPiqa(path.join(dataDir, "piqa", `${split}.jsonl`), path.join(dataDir, "piqa", `${split}-labels.lst`))
    },
    siqa: {
        splits: ["train", "dev"],
        unlabeled: ["test"],
        load: (dataDir, split) => loadSiqa(path.join(dataDir, "siqa", `${split}.jsonl`), path.join(dataDir, "siqa", `${split}-labels.lst`))
    },
    winogrande: {
        splits: ["train_xs", "train_s", "train_m", "train_l", "train_xl", "dev"],
        unlabeled: ["test"],
        load: (dataDir, split) => loadWinogrande(path.join(dataDir, "winogrande", `${split}.jsonl`))
    }
};

/** Loads one labelled split of a public dataset; `subjects` narrows MMLU to some subjects. */
export async function loadPublicSplit(dataDir: string, dataset: string, split: string, subjects?: readonly string[]): Promise<QaItem[]> {
    const layout = PUBLIC_DATASETS[dataset];
    if (layout === undefined) {
        throw new CrayonError(`unknown dataset "${dataset}"; known: ${Object.keys(PUBLIC_DATASETS).join(", ")}`);
    }
    if (layout.unlabeled.includes(split)) {
        throw new CrayonError(`${dataset} split "${split}" has no public labels and cannot be used for evaluation or training; use ${layout.splits.join(" or ")}`);
    }
    if (!layout.splits.includes(split)) {
        throw new CrayonError(`unknown ${dataset} split "${split}"; known: ${layout.splits.join(", ")}`);
    }
    if (subjects !== undefined && dataset !== "mmlu") throw new CrayonError(`subjects apply to mmlu only, not to ${dataset}`);
    return layout.load(dataDir, split, subjects);
}
