// The patch formats the test server accepts: JSON merge patch (RFC 7386),
// JSON patch (RFC 6902) and strategic merge patch, which here is merge
// patch plus the directives kubectl sends for lists without merge keys.
// Real strategic merge (merging list elements by key, e.g. Service ports)
// is a documented limitation: such lists are replaced wholesale.

import { badRequest, failure, StatusError } from './status.ts';

type Json = unknown;

function isObject(v: Json): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/**
 * Strategic merge patch for built-in kinds, reduced to merge-patch
 * semantics: `$setElementOrder/…` and `$retainKeys` only order or prune
 * what a full-list replace already gives, so they are dropped; any other
 * directive would need schema knowledge and is refused.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  return mergePatch(target, stripDirectives(patch));
}

function stripDirectives(patch: Json): Json {
  if (Array.isArray(patch)) return patch.map(stripDirectives);
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/') || key === '$retainKeys') continue;
    if (key.startsWith('$')) {
      throw badRequest(`strategic merge patch directive ${key} is not supported by the test API server`);
    }
    out[key] = stripDirectives(value);
  }
  return out;
}

interface Op {
  op: string;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/** A patch that cannot be applied: 422 as the real patcher answers. */
function cannotApply(message: string): StatusError {
  return new StatusError(failure(422, 'Invalid', message));
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw badRequest('json patch: path must be a string');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`json patch: invalid pointer ${JSON.stringify(pointer)}`);
  return pointer.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function getAt(doc: Json, tokens: readonly string[]): Json {
  let cur: Json = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(t, cur.length - 1);
      cur = cur[i];
    } else if (isObject(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else {
      throw cannotApply(`jsonpatch: path /${tokens.join('/')} does not exist`);
    }
  }
  return cur;
}

function arrayIndex(token: string, max: number): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw cannotApply(`jsonpatch: invalid array index ${JSON.stringify(token)}`);
  const i = Number(token);
  if (i > max) throw cannotApply(`jsonpatch: array index ${i} out of bounds`);
  return i;
}

/** Parent container and last token of a pointer (the document root has no parent). */
function parentOf(doc: Json, tokens: readonly string[]): { parent: Json; last: string } {
  if (tokens.length === 0) throw cannotApply('jsonpatch: operations on the document root are not supported');
  return { parent: getAt(doc, tokens.slice(0, -1)), last: tokens[tokens.length - 1]! };
}

function addAt(doc: Json, tokens: readonly string[], value: Json): void {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(arrayIndex(last, parent.length), 0, value);
  } else if (isObject(parent)) {
    parent[last] = value;
  } else {
    throw cannotApply(`jsonpatch: cannot add to a non-container at /${tokens.join('/')}`);
  }
}

function removeAt(doc: Json, tokens: readonly string[]): Json {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) {
    return parent.splice(arrayIndex(last, parent.length - 1), 1)[0];
  }
  if (isObject(parent) && Object.hasOwn(parent, last)) {
    const old = parent[last];
    delete parent[last];
    return old;
  }
  throw cannotApply(`jsonpatch: unable to remove nonexistent key: ${last}: missing value`);
}

function deepEqual(a: Json, b: Json): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Sorted-key copy, so equality does not depend on key order. */
export function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
}

/** RFC 6902 add/remove/replace/move/copy/test on a copy of `target`. */
export function jsonPatch(target: Json, patch: Json): Json {
  if (!Array.isArray(patch)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  const doc = structuredClone(target);
  for (const raw of patch) {
    if (!isObject(raw) || typeof raw['op'] !== 'string') throw badRequest('json patch: every operation needs an "op"');
    const op = raw as unknown as Op;
    const path = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        addAt(doc, path, structuredClone(op.value));
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        getAt(doc, path);
        removeAt(doc, path);
        addAt(doc, path, structuredClone(op.value));
        break;
      case 'move': {
        const value = removeAt(doc, parsePointer(op.from));
        addAt(doc, path, value);
        break;
      }
      case 'copy':
        addAt(doc, path, structuredClone(getAt(doc, parsePointer(op.from))));
        break;
      case 'test':
        if (!deepEqual(getAt(doc, path), op.value)) {
          throw cannotApply(`testing value /${path.join('/')} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`json patch: unexpected operation ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}
