// core/v1 Event ⇄ events.k8s.io/v1 Event. The real server stores one
// object and converts per request (kubernetes-api.md §2.9), so an event
// written through either API is readable through both. Storage form here
// is the core/v1 shape.

type Obj = Record<string, unknown>;

/** [events.k8s.io/v1 field, core/v1 field]; fields with the same name in both are in SAME. */
const RENAMED: ReadonlyArray<readonly [string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const SAME = ['metadata', 'eventTime', 'series', 'reportingInstance', 'action', 'reason', 'related', 'type'] as const;

function copyFields(from: Obj, pairs: ReadonlyArray<readonly [string, string]>): Obj {
  const out: Obj = {};
  for (const [src, dst] of pairs) {
    if (from[src] !== undefined) out[dst] = from[src];
  }
  return out;
}

export function eventsV1ToCoreEvent(obj: Obj): Obj {
  return {
    kind: 'Event',
    apiVersion: 'v1',
    ...copyFields(obj, SAME.map((f) => [f, f] as const)),
    ...copyFields(obj, RENAMED),
  };
}

export function coreEventToEventsV1(obj: Obj): Obj {
  return {
    kind: 'Event',
    apiVersion: 'events.k8s.io/v1',
    ...copyFields(obj, SAME.map((f) => [f, f] as const)),
    ...copyFields(obj, RENAMED.map(([a, b]) => [b, a] as const)),
  };
}
