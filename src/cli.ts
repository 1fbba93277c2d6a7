#!/usr/bin/env node
import { runCli } from './cli/program.js';

// exitCode rather than exit(): `serve` keeps running on its open server until a signal stops it.
process.exitCode = await runCli(process.argv);
