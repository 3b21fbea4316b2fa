import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Failure } from '../core/index.js';
import { redactSecrets } from '../core/index.js';

/**
 * Static, engine-independent inspection of an agent's patch (a unified diff in git format), done before any GPU
 * time is spent: empty patches, patches that need a build, and the list of files they change.
 */

/** One file touched by a diff. `path` is the new path (the old one for a deletion), without `a/` / `b/`. */
export interface PatchFile {
  path: string;
  oldPath: string | null;
  newPath: string | null;
  /** Lines added and removed in this file's hunks. */
  added: string[];
  removed: string[];
  /** For each changed line, the nearest `[section]` header seen above it in the hunk (TOML files). */
  sections: string[];
  binary: boolean;
}

/** The verdict of the static inspection. */
export type PatchInspection =
  | { status: 'ok'; filesChanged: string[] }
  | { status: 'failed'; failure: Failure; filesChanged: string[] };

/** The verdict of an apply check against a real tree. */
export type PatchApplyCheck = { status: 'ok'; log: string } | { status: 'failed'; failure: Failure; log: string };

const COMPILED_EXTENSIONS = new Set(['.cu', '.cuh', '.cpp', '.cc', '.cxx', '.c', '.h', '.hpp', '.hxx', '.cmake']);
const BUILD_FILES = new Set(['CMakeLists.txt', 'setup.py', 'setup.cfg', 'MANIFEST.in']);
const PYPROJECT_BUILD_SECTION = /^\[+\s*(build-system|tool\.setuptools|tool\.scikit-build|tool\.cmake)\b/;
const PYPROJECT_BUILD_LINE = /\b(build-system|build-backend|setuptools|scikit-build|cmake)\b/i;

function stripPrefix(p: string): string | null {
  const trimmed = p.trim().replace(/\t.*$/, '');
  if (trimmed === '/dev/null') return null;
  return trimmed.replace(/^"(.*)"$/, '$1').replace(/^[ab]\//, '');
}

function newFile(oldPath: string | null, newPath: string | null): PatchFile {
  return { path: newPath ?? oldPath ?? '', oldPath, newPath, added: [], removed: [], sections: [], binary: false };
}

/** Parses a unified diff (git format or plain `---`/`+++`) into the files it touches and their changed lines. */
export function parsePatch(text: string): PatchFile[] {
  const files: PatchFile[] = [];
  let current: PatchFile | null = null;
  let section = '';
  let inHunk = false;
  // Lines left in the current hunk, from its `@@ -a,b +c,d @@` header: a `--- x` line inside a hunk is a removed line.
  let oldLeft = 0;
  let newLeft = 0;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const git = /^diff --git a\/(.+?) b\/(.+)$/.exec(line);
    if (git) {
      current = newFile(git[1] ?? null, git[2] ?? null);
      files.push(current);
      inHunk = false;
      section = '';
      continue;
    }
    if (!inHunk && line.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      const oldPath = stripPrefix(line.slice(4));
      const newPath = stripPrefix((lines[i + 1] ?? '').slice(4));
      if (current === null || current.added.length + current.removed.length > 0 || (current.oldPath !== oldPath && current.newPath !== newPath)) {
        current = newFile(oldPath, newPath);
        files.push(current);
      } else {
        current.oldPath = oldPath;
        current.newPath = newPath;
        current.path = newPath ?? oldPath ?? current.path;
      }
      i++;
      inHunk = false;
      continue;
    }
    if (current === null) continue;
    const hunk = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(line);
    if (hunk) {
      oldLeft = Number(hunk[1] ?? '1');
      newLeft = Number(hunk[2] ?? '1');
      inHunk = oldLeft + newLeft > 0;
      continue;
    }
    if (line.startsWith('GIT binary patch') || line.startsWith('Binary files ')) {
      current.binary = true;
      continue;
    }
    if (!inHunk) {
      if (line.startsWith('deleted file mode')) current.newPath = null;
      continue;
    }
    const body = line.slice(1);
    if (/^\s*\[/.test(body) && !line.startsWith('-')) section = body.trim();
    if (line.startsWith('+')) {
      current.added.push(body);
      current.sections.push(section);
      newLeft--;
    } else if (line.startsWith('-')) {
      current.removed.push(body);
      current.sections.push(section);
      oldLeft--;
    } else if (line.startsWith(' ') || line === '') {
      oldLeft--;
      newLeft--;
    }
    if (oldLeft <= 0 && newLeft <= 0) inHunk = false;
  }
  for (const f of files) f.path = f.newPath ?? f.oldPath ?? f.path;
  return files.filter((f) => f.path !== '');
}

/** True when changing this file of the engine means recompiling it (CUDA/C++ sources, build files). */
export function isCompiledSource(file: PatchFile): boolean {
  const p = file.path;
  const base = path.posix.basename(p);
  if (p.startsWith('csrc/') || p.includes('/csrc/')) return true;
  if (COMPILED_EXTENSIONS.has(path.posix.extname(p).toLowerCase())) return true;
  if (BUILD_FILES.has(base)) return true;
  if (base === 'pyproject.toml') {
    if (file.sections.some((s) => PYPROJECT_BUILD_SECTION.test(s))) return true;
    return [...file.added, ...file.removed].some((l) => PYPROJECT_BUILD_LINE.test(l));
  }
  return false;
}

/** Static inspection: `patch_empty`, `patch_apply_failed` (not a diff) or `patch_needs_build`, else ok. */
export function inspectPatch(text: string): PatchInspection {
  if (text.trim() === '') {
    return { status: 'failed', failure: { code: 'patch_empty', evidence: 'the patch is empty', source: 'patch' }, filesChanged: [] };
  }
  const files = parsePatch(text);
  const filesChanged = files.map((f) => f.path);
  if (files.length === 0) {
    const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
    return {
      status: 'failed',
      failure: { code: 'patch_apply_failed', evidence: redactSecrets(`not a unified diff: no file headers found (first line: ${first.slice(0, 200)})`), source: 'patch' },
      filesChanged,
    };
  }
  if (files.every((f) => f.added.length === 0 && f.removed.length === 0 && !f.binary && f.oldPath === f.newPath)) {
    return { status: 'failed', failure: { code: 'patch_empty', evidence: `the patch changes no lines (${filesChanged.join(', ')})`, source: 'patch' }, filesChanged };
  }
  const compiled = files.filter(isCompiledSource).map((f) => f.path);
  if (compiled.length > 0) {
    return {
      status: 'failed',
      failure: { code: 'patch_needs_build', evidence: `the patch touches compiled sources: ${compiled.join(', ')}`, source: 'patch' },
      filesChanged,
    };
  }
  return { status: 'ok', filesChanged };
}

/** The exact shell-free command lines used to check and apply a patch file; `--force` and extra fuzz are never used. */
export const APPLY_COMMANDS = {
  gitCheck: (patchFile: string) => ['git', 'apply', '--check', '--verbose', patchFile],
  gitApply: (patchFile: string) => ['git', 'apply', '--verbose', patchFile],
  patchCheck: (patchFile: string) => ['patch', '-p1', '--forward', '--batch', '--fuzz=0', '--dry-run', '-i', patchFile],
  patchApply: (patchFile: string) => ['patch', '-p1', '--forward', '--batch', '--fuzz=0', '-i', patchFile],
} as const;

/**
 * Runs `git apply` (check only or for real) in `dir` on the patch's exact bytes; a patch that does not apply is
 * `patch_apply_failed` with git's output.
 */
export async function applyPatchToTree(dir: string, patch: string | Uint8Array, mode: 'check' | 'apply', signal?: AbortSignal): Promise<PatchApplyCheck> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'isobench-patch-'));
  try {
    const file = path.join(tmp, 'agent.patch');
    await writeFile(file, patchFileBytes(patch));
    const argv = mode === 'check' ? APPLY_COMMANDS.gitCheck(file) : APPLY_COMMANDS.gitApply(file);
    // The ceiling keeps git from finding a repository above `dir`, where it would silently skip paths outside it.
    const env = { ...process.env, GIT_CEILING_DIRECTORIES: path.dirname(path.resolve(dir)) };
    const { code, output } = await runCollect(argv, dir, env, signal);
    const log = redactSecrets(output);
    if (code === 0) return { status: 'ok', log };
    return { status: 'failed', failure: applyFailure(log), log };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The bytes of a patch file: `patch` exactly (text as UTF-8), with a final newline when it lacks one. */
export function patchFileBytes(patch: string | Uint8Array): Buffer {
  const bytes = typeof patch === 'string' ? Buffer.from(patch, 'utf8') : Buffer.from(patch.buffer, patch.byteOffset, patch.byteLength);
  return bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from('\n')]);
}

/** The failure for an apply tool's output: the first line that says what went wrong. */
export function applyFailure(log: string): Failure {
  const lines = log.split(/\r?\n/);
  const specific = lines.findIndex((l) => /patch failed|does not apply|FAILED|can't find file|No such file|does not exist|Reversed|malformed|corrupt|already exists/i.test(l));
  const idx = specific >= 0 ? specific : lines.findIndex((l) => /error|fail|reject/i.test(l));
  const evidence = idx >= 0 ? (lines[idx] ?? '') : (lines.find((l) => l.trim() !== '') ?? 'the patch does not apply');
  return { code: 'patch_apply_failed', evidence: evidence.trim(), source: 'patch', ...(idx >= 0 ? { line: idx + 1 } : {}) };
}

function runCollect(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd ?? 'false', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', (err) => resolve({ code: null, output: `${output}${err.message}\n` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * Keeps the file sections of a git-format diff whose path passes `keep` (e.g. only `vllm/...` when the patch goes to
 * the installed package, where tests/ and benchmarks/ do not exist). A diff without `diff --git` headers is kept whole.
 */
export function filterPatch(text: string, keep: (path: string) => boolean): { text: string; kept: string[]; dropped: string[] } {
  const sections = text.split(/^(?=diff --git )/m);
  if (sections.length <= 1 && !text.startsWith('diff --git ')) {
    const files = parsePatch(text).map((f) => f.path);
    return { text, kept: files.filter(keep), dropped: files.filter((f) => !keep(f)) };
  }
  const kept: string[] = [];
  const dropped: string[] = [];
  let out = '';
  for (const section of sections) {
    const file = parsePatch(section)[0];
    if (file === undefined) continue;
    if (keep(file.path)) {
      kept.push(file.path);
      out += section;
    } else dropped.push(file.path);
  }
  return { text: out, kept, dropped };
}
