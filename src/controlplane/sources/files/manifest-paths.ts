// Which paths under the manifests root are manifests. Relative paths use "/".

import { isManifestPath } from './manifest-file.ts';

export type PathClass = 'candidate' | 'ignored' | 'rescan';

/**
 * "ignored": dotfiles and dot-directories (.git, .#emacs-lock, .file.swp) and
 * editor leftovers (backup~, #autosave#, .swp). "rescan": Kubernetes
 * ConfigMap volumes swap a "..data" symlink atomically; the visible files are
 * symlinks into it and never change themselves, so such an event means
 * "re-read everything". "candidate": a manifest or a directory that may hold some.
 */
export function classifyPath(relPath: string): PathClass {
  const segments = relPath.split('/');
  if (segments[0]?.startsWith('..')) return 'rescan';
  if (segments.some(isIgnoredName)) return 'ignored';
  return 'candidate';
}

export function isIgnoredName(name: string): boolean {
  return (
    name === '' ||
    name.startsWith('.') ||
    name.endsWith('~') ||
    (name.startsWith('#') && name.endsWith('#')) ||
    /\.(swp|swx|swo|tmp|bak)$/i.test(name)
  );
}

export function isManifestFile(relPath: string): boolean {
  return classifyPath(relPath) === 'candidate' && isManifestPath(relPath);
}
