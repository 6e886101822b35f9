#!/usr/bin/env node
// Runs the CLI from its TypeScript source: the workspace has no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/main.ts');
process.exitCode = await run(process.argv.slice(2));
