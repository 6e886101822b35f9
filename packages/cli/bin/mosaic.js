#!/usr/bin/env -S node --heap-growing-percent=50
// Runs the CLI from its TypeScript source: the workspace has no build step. The node flag is
// the V8 setting of every mosaic process, HUB_NODE_FLAGS of @mosaic/hub (why: its doc comment).
import { register } from 'tsx/esm/api';

register();
const { run } = await import('../src/main.ts');
process.exitCode = await run(process.argv.slice(2));
