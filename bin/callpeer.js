#!/usr/bin/env node
// The CLI is compiled to dist/ on `npm install` (the "prepare" script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('callpeer: dist/ is missing; run `npm run build` (or `npm install`) in the package folder first\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
