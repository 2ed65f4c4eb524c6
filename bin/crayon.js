#!/usr/bin/env node
import { main } from "../dist/src/cli/cli.js";

await main(process.argv);
