import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { IsobenchError, patchSha256, usageError } from '../core/index.js';

/** One `--agent <name>:<model>=<patch-file-or-dir>` argument, parsed. */
export interface AgentArg {
  name: string;
  model: string;
  /** A patch file (applies to every task) or a directory with one patch per task. */
  patchPath: string;
}

/** An agent's patch for one task. */
export interface AgentPatch {
  /** The patch file's bytes, exactly: applied, stored and hashed as they are (any encoding, binary included). */
  bytes: Buffer;
  /** The bytes read as UTF-8, for inspection and messages only (a non-UTF-8 byte shows as U+FFFD). */
  text: string;
  /** sha256 of `bytes`. */
  sha256: string;
  /** Where it was read from (for messages and the run config). */
  source: string;
}

/** An agent with its patches resolved: `patchFor(commit)` is null when the agent has no patch for that task. */
export interface AgentSource {
  name: string;
  model: string;
  patchPath: string;
  patchFor(commit: string): AgentPatch | null;
}

const AGENT_NAME = /^[A-Za-z0-9._-]+$/;

/** Parses `<name>:<model>=<path>`; the name is up to the first `:`, the model up to the first `=`. */
export function parseAgentArg(raw: string): AgentArg {
  const colon = raw.indexOf(':');
  const eq = raw.indexOf('=', colon + 1);
  if (colon <= 0 || eq <= colon + 1 || eq === raw.length - 1) {
    throw usageError('--agent', `"${raw}" is not <name>:<model>=<patch-file-or-dir>`, 'e.g. --agent claude-code:sonnet-4.5=patches/claude/');
  }
  const name = raw.slice(0, colon);
  if (!AGENT_NAME.test(name)) throw usageError('--agent', `agent name "${name}" may hold only letters, digits, ".", "_" and "-"`);
  if (name === 'baseline' || name === 'human') throw usageError('--agent', `"${name}" is a variant name; give the agent another name`);
  return { name, model: raw.slice(colon + 1, eq), patchPath: raw.slice(eq + 1) };
}

/** A patch from its bytes (a file) or its text (UTF-8). */
export function agentPatch(patch: string | Uint8Array, source: string): AgentPatch {
  const bytes = typeof patch === 'string' ? Buffer.from(patch, 'utf8') : Buffer.from(patch.buffer, patch.byteOffset, patch.byteLength);
  return { bytes, text: bytes.toString('utf8'), sha256: patchSha256(bytes), source };
}

function readPatch(file: string): AgentPatch {
  return agentPatch(readFileSync(file), file);
}

const PATCH_EXT = /\.(patch|diff)$/;

/** The patch files of a directory, keyed by the hex commit prefix their name starts with (`<commit>.patch` or `<commit>/x.diff`). */
function indexPatchDir(dir: string): Map<string, string> {
  const byPrefix = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && PATCH_EXT.test(entry.name)) {
      const stem = entry.name.replace(PATCH_EXT, '').toLowerCase();
      if (/^[0-9a-f]{7,40}$/.test(stem)) byPrefix.set(stem, full);
    } else if (entry.isDirectory() && /^[0-9a-f]{7,40}$/.test(entry.name.toLowerCase())) {
      const inner = readdirSync(full).filter((n) => PATCH_EXT.test(n)).sort();
      if (inner[0] !== undefined) byPrefix.set(entry.name.toLowerCase(), path.join(full, inner[0]));
    }
  }
  return byPrefix;
}

/** Finds the longest name in `index` that prefixes `commit` (names of 7 to 40 hex characters). */
function lookupByCommit(index: Map<string, string>, commit: string): string | null {
  let best: string | null = null;
  for (const prefix of index.keys()) {
    if (commit.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
  }
  return best === null ? null : (index.get(best) ?? null);
}

/** Reads an `--agent` argument's patch file or directory (fails at once when the path is missing). */
export function loadAgent(arg: AgentArg): AgentSource {
  let isDir: boolean;
  try {
    isDir = statSync(arg.patchPath).isDirectory();
  } catch {
    throw usageError('--agent', `patch path "${arg.patchPath}" of agent ${arg.name} does not exist`, 'give a .patch/.diff file or a directory of <commit>.patch files');
  }
  if (!isDir) {
    const patch = readPatch(arg.patchPath);
    return { ...arg, patchFor: () => patch };
  }
  const index = indexPatchDir(arg.patchPath);
  if (index.size === 0) {
    throw new IsobenchError('E_INPUT', `agent ${arg.name}: directory "${arg.patchPath}" holds no <commit>.patch, <commit>.diff or <commit>/*.patch`, {
      hint: 'name each patch by the full or short (7+ characters) commit hash of its task',
    });
  }
  const cache = new Map<string, AgentPatch | null>();
  return {
    ...arg,
    patchFor(commit) {
      if (!cache.has(commit)) {
        const file = lookupByCommit(index, commit.toLowerCase());
        cache.set(commit, file === null ? null : readPatch(file));
      }
      return cache.get(commit) ?? null;
    },
  };
}
