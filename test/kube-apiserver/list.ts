// Collection GET (kubernetes-api.md §2.2, §2.3): limit/continue paging over
// a consistent snapshot, remainingItemCount, the list's resourceVersion,
// selectors, and items without kind/apiVersion as built-in kinds are served.
// A continue token names the snapshot revision and the last key returned;
// the snapshot is rebuilt from history, so compaction expires tokens (410)
// exactly as etcd compaction does.

import { Buffer } from 'node:buffer';
import { toApi } from './registry.ts';
import { apiVersionOf, type KubeObject, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { keyOf, type Store } from './store.ts';
import { badRequest, expired, resourceVersionTooLarge } from './status.ts';

interface ContinueToken {
  readonly rv: number;
  /** Key (namespace/name) of the last item already returned. */
  readonly after: string;
}

function encodeToken(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'test.k8s/v1', rv: t.rv, start: t.after }), 'utf8').toString('base64url');
}

function decodeToken(text: string): ContinueToken {
  try {
    const raw = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { v?: unknown; rv?: unknown; start?: unknown };
    if (raw.v === 'test.k8s/v1' && typeof raw.rv === 'number' && typeof raw.start === 'string') return { rv: raw.rv, after: raw.start };
  } catch {
    // fall through to the 400 below
  }
  throw badRequest(`continue key is not valid: ${text}`);
}

const CONTINUE_EXPIRED = 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue value from this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

/** Parses a resourceVersion query value; "" and "0" mean "any/latest". */
export function parseRv(value: string, store: Store): number | undefined {
  if (value === '' || value === '0') return undefined;
  if (!/^[0-9]+$/.test(value)) throw badRequest(`resourceVersion: Invalid value: "${value}": invalid resource version`);
  const rv = Number(value);
  if (rv > store.resourceVersion) throw resourceVersionTooLarge(value, String(store.resourceVersion));
  return rv;
}

export function listObjects(store: Store, def: ResourceDef, namespace: string | undefined, query: Readonly<Record<string, string>>): KubeObject {
  const labels = parseLabelSelector(query['labelSelector']);
  const fields = parseFieldSelector(query['fieldSelector'], def);
  const limitText = query['limit'];
  const limit = limitText === undefined || limitText === '' ? 0 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`limit: Invalid value: "${limitText}": must be a non-negative integer`);

  let snapshotRv: number;
  let after = '';
  let stored: KubeObject[] | undefined;
  const cont = query['continue'];
  if (cont !== undefined && cont !== '') {
    if (query['resourceVersion'] !== undefined && query['resourceVersion'] !== '') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const token = decodeToken(cont);
    snapshotRv = token.rv;
    after = token.after;
    stored = store.stateAt(def.storage, snapshotRv, namespace);
    if (stored === undefined) throw expired(CONTINUE_EXPIRED);
  } else {
    const rvText = query['resourceVersion'] ?? '';
    const rv = parseRv(rvText, store);
    if (rv !== undefined && query['resourceVersionMatch'] === 'Exact') {
      stored = store.stateAt(def.storage, rv, namespace);
      if (stored === undefined) throw expired(`too old resource version: ${rv} (${store.historyStart + 1})`);
      snapshotRv = rv;
    } else {
      // Unset, "0" and NotOlderThan N are all served from the latest state.
      snapshotRv = store.resourceVersion;
      stored = store.list(def.storage, namespace);
    }
  }

  const matching = stored.filter((obj) => {
    if (after !== '' && keyOf(obj) <= after) return false;
    const api = toApi(def, obj);
    return labels(api) && fields(api);
  });
  const page = limit > 0 ? matching.slice(0, limit) : matching;
  const remaining = matching.length - page.length;
  const metadata: Record<string, unknown> = { resourceVersion: String(snapshotRv) };
  if (remaining > 0) {
    metadata['continue'] = encodeToken({ rv: snapshotRv, after: keyOf(page[page.length - 1]!) });
    // The real server cannot count ahead through a selector, so it omits the count then.
    const selected = (query['labelSelector'] ?? '') !== '' || (query['fieldSelector'] ?? '') !== '';
    if (!selected) metadata['remainingItemCount'] = remaining;
  }
  return {
    kind: `${def.kind}List`,
    apiVersion: apiVersionOf(def),
    metadata,
    items: page.map((obj) => {
      const { kind: _k, apiVersion: _a, ...item } = toApi(def, obj);
      return item;
    }),
  };
}
