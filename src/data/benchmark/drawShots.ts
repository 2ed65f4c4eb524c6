import { CrayonError } from "../../errors.js";
import type { QaItem } from "../item.js";
import { createRng } from "../random.js";
import type { UserTask } from "./types.js";

/** The k examples a user "brings" for a task: a seeded draw from its shot candidates, same seed ⇒ same shots. */
export function drawShots(userTask: UserTask, k: number, seed: number): QaItem[] {
    if (!Number.isInteger(k) || k < 1 || k > userTask.shots.length) {
        throw new CrayonError(`cannot draw ${k} shots for ${userTask.task}: it has ${userTask.shots.length} shot candidates`);
    }
    return createRng(`shots:${userTask.task}:${seed}`).shuffle(userTask.shots).slice(0, k);
}
