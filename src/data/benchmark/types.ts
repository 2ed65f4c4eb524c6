import type { QaItem } from "../item.js";
import type { World } from "../world/world.js";
import type { TaskPart, TaskRole } from "./definition.js";

/** A user task: the candidates k-shot examples are drawn from (see `drawShots`) and the held-out test items. */
export interface UserTask {
    task: string;
    shots: QaItem[];
    test: QaItem[];
}

/** One line of a benchmark's composition: how many items one part of one task contributes. */
export interface CompositionRow {
    task: string;
    role: TaskRole;
    part: TaskPart;
    /** Where the items came from: `world`, or `<dataset>/<split>[/<group>]`. */
    from: string;
    items: number;
    /** Items left out because the same question (id or text) is a test item of the benchmark. */
    droppedAsTestOverlap: number;
}

/** A benchmark resolved into concrete item lists. */
export interface Benchmark {
    name: string;
    version: number;
    description: string;
    /** The definition file it was read from. */
    file: string;
    /** Items the pool adapters are trained on, each labelled with its task. */
    pool: QaItem[];
    userTasks: UserTask[];
    /** Queries of domains no pool task covers: a router should send them to the server. */
    outOfScope: QaItem[];
    /** World benchmarks only: the corpus the embedded device and server models are pre-trained on (no test item in it). */
    pretrain?: QaItem[];
    /** World benchmarks only: the items of `pretrain` that only the server learns (server and out-of-scope tasks). */
    serverOnly?: QaItem[];
    /** World benchmarks only: the generated world, with its fact table. */
    world?: World;
    composition: CompositionRow[];
}
