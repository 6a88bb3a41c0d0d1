import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ingress } from '../k8s/objects.ts';
import { compareIngressAge, sortByAge } from './order.ts';

const ing = (namespace: string, name: string, creationTimestamp?: string): Ingress =>
  ({ kind: 'Ingress', metadata: { namespace, name, creationTimestamp, annotations: {}, labels: {} } }) as unknown as Ingress;

test('sortByAge orders exactly as compareIngressAge: oldest first, no timestamp last, then namespace/name', () => {
  const list = [
    ing('b', 'x', '2026-01-02T00:00:00Z'),
    ing('a', 'y'),
    ing('a-b', 'c', '2026-01-01T00:00:00Z'),
    ing('a', 'x', '2026-01-01T00:00:00Z'),
    ing('a', 'z', 'not a time'),
    ing('c', 'old', '2025-12-31T23:59:59Z'),
  ];
  const expected = [...list].sort(compareIngressAge);
  assert.deepEqual(sortByAge(list).map((i) => `${i.metadata.namespace}/${i.metadata.name}`), expected.map((i) => `${i.metadata.namespace}/${i.metadata.name}`));
  assert.deepEqual(expected.map((i) => i.metadata.name), ['old', 'c', 'x', 'x', 'y', 'z']);
});
