#!/usr/bin/env node
// Runs the compiled CLI (dist/bundle/, built by `npm run build`, which `npm ci` runs through `prepare`) when it was built
// from the sources as they are now; otherwise the TypeScript sources through tsx. A checkout never runs stale
// compiled code: an edit to src/ sends the next start to the sources until the next build (docs/architecture.md).
import { fileURLToPath } from 'node:url';
import { distIsFresh } from './source-stamp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
if (distIsFresh(root)) {
  await import('../dist/bundle/main.js');
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write('isobench: dist/ is missing or older than src/, and tsx (a dev dependency) is not installed: run npm run build\n');
    process.exit(1);
  }
  tsx.register();
  await import('../src/cli/main.ts');
}
