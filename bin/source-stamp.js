// The build's freshness check, shared by scripts/build.js (writes the stamp) and bin/isobench.js (compares it).
// A stamp lists every build input (path, size, modification time); dist/ is fresh when the stamp written at build
// time equals the stamp of the files as they are now. Listing only stats keeps the check at a few milliseconds.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** What the compiled CLI is built from: a change to any of these makes dist/ stale. */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json'];

/** Where the build records the stamp of the sources it compiled. */
export const STAMP_FILE = path.join('dist', '.source-stamp');

/** The stamp of the build inputs under `root` as they are now. */
export function sourceStamp(root) {
  const lines = [];
  const walk = (rel) => {
    const st = statSync(path.join(root, rel), { throwIfNoEntry: false });
    if (st === undefined) lines.push(`${rel} -`);
    else if (st.isDirectory()) for (const name of readdirSync(path.join(root, rel)).sort()) walk(`${rel}/${name}`);
    else lines.push(`${rel} ${st.size} ${st.mtimeMs}`);
  };
  for (const input of INPUTS) walk(input);
  return `${lines.join('\n')}\n`;
}

/**
 * True when dist/ may run: an installed package (no src/, only dist/ ships) or a checkout whose dist/ was built
 * from exactly the sources there now. False sends bin/isobench.js to the TypeScript sources.
 */
export function distIsFresh(root) {
  const hasDist = statSync(path.join(root, 'dist', 'bundle', 'main.js'), { throwIfNoEntry: false }) !== undefined;
  if (!hasDist) return false;
  if (statSync(path.join(root, 'src'), { throwIfNoEntry: false }) === undefined) return true;
  let recorded;
  try {
    recorded = readFileSync(path.join(root, STAMP_FILE), 'utf8');
  } catch {
    return false;
  }
  return recorded === sourceStamp(root);
}
