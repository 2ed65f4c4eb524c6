import { existsSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../src/version.js";

/** The public QA files live next to the repository, never inside it. */
export const qaDataDir = path.resolve(projectRoot, "../shared/qa-data");
export const hasQaData = existsSync(path.join(qaDataDir, "README.md"));
export const skipReason = `public QA datasets not found at ${qaDataDir}`;
