// File-system side of the manifests source: listing and reading manifest
// files under the root, never following a symlink out of it.

import { lstat, open, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Diagnostic } from '../../../shared/diagnostic.ts';
import { isIgnoredName, isManifestFile } from './manifest-paths.ts';
import { MAX_MANIFEST_BYTES, parseManifestFile, tooLarge, type ManifestFile } from './manifest-file.ts';

/** Fails with a message naming the path when the root is missing, not a directory or unreadable. */
export async function checkRoot(root: string): Promise<string> {
  try {
    const info = await stat(root);
    if (!info.isDirectory()) throw new Error('not a directory');
    await readdir(root);
    return await realpath(root);
  } catch (error) {
    throw new Error(`manifests directory "${root}" cannot be used: ${reason(error)}`, { cause: error });
  }
}

/**
 * Relative paths ("/"-separated, sorted) of the manifest files under `dir`
 * (relative `base` inside the root). Symlinked files are included when they
 * resolve inside the root; symlinked directories are not descended (no loops, no duplicates).
 */
export async function listManifests(realRoot: string, base = ''): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(join(realRoot, base), { withFileTypes: true });
  for (const entry of entries) {
    if (isIgnoredName(entry.name)) continue;
    const rel = base === '' ? entry.name : `${base}/${entry.name}`;
    if (entry.isDirectory()) found.push(...(await listManifests(realRoot, rel)));
    else if ((entry.isFile() || entry.isSymbolicLink()) && isManifestFile(rel)) found.push(rel);
  }
  return found.sort();
}

export type PathKind = 'missing' | 'directory' | 'file';

/** What a changed path now is; a symlink counts as a file (read through `readManifest`'s checks). */
export async function pathKind(realRoot: string, rel: string): Promise<PathKind> {
  try {
    const info = await lstat(join(realRoot, rel));
    return info.isDirectory() ? 'directory' : 'file';
  } catch (error) {
    if (isNotFound(error)) return 'missing';
    throw error;
  }
}

/** Reads and parses one file; 'missing' when it is gone (deleted between event and read). */
export async function readManifest(realRoot: string, rel: string): Promise<ManifestFile | 'missing'> {
  let target: string;
  try {
    target = await realpath(join(realRoot, rel));
  } catch (error) {
    return isNotFound(error) ? 'missing' : unreadable(rel, 'file-read-error', `cannot read file: ${reason(error)}`);
  }
  if (!target.startsWith(realRoot + sep)) {
    const problem: Diagnostic = { severity: 'error', code: 'symlink-outside-root', message: 'symlink points outside the manifests directory; not followed', file: rel };
    return { objects: [], problems: [problem], unreadable: false, invalid: [] };
  }
  try {
    const text = await readText(target);
    return text === 'too-large' ? tooLarge(rel) : text === undefined ? 'missing' : parseManifestFile(rel, text);
  } catch (error) {
    if (isNotFound(error)) return 'missing';
    if (error instanceof TypeError) return unreadable(rel, 'file-not-utf8', 'file is not valid UTF-8 text');
    return unreadable(rel, 'file-read-error', `cannot read file: ${reason(error)}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The size is checked on the open handle before reading, so a huge file is never loaded. */
async function readText(path: string): Promise<string | 'too-large' | undefined> {
  const handle = await open(path, 'r');
  try {
    const info = await handle.stat();
    if (!info.isFile()) return undefined;
    if (info.size > MAX_MANIFEST_BYTES) return 'too-large';
    return utf8.decode(await handle.readFile());
  } finally {
    await handle.close();
  }
}

function unreadable(file: string, code: string, message: string): ManifestFile {
  return { objects: [], problems: [{ severity: 'error', code, message, file }], unreadable: true, invalid: [] };
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
