#!/usr/bin/env node
import { runCli } from "../dist/src/cli/cli.js";

await runCli(process.argv);
