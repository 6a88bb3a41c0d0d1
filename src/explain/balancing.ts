// How a cluster spreads requests, in words: the load-balancing policy and
// session affinity the model carries (absent: weighted round-robin, none).

import type { Cluster } from '../model/model.ts';

export function describeBalancing(c: Cluster): string {
  const lb = c.loadBalancing;
  if (lb === undefined || lb.kind === 'round-robin') return 'round-robin';
  if (lb.kind === 'least-request') return `least-request (best of ${lb.choices} random choices)`;
  if (lb.kind === 'peak-ewma') return `peak-EWMA latency (decay ${lb.decayMs} ms)`;
  const key = lb.key.source === 'header' ? `header ${lb.key.name}` : lb.key.source === 'cookie' ? `cookie ${lb.key.name}` : lb.key.source === 'client-ip' ? 'client IP' : 'request URI';
  return `consistent hash of the ${key} (${lb.table})`;
}

export function describeAffinity(c: Cluster): string | undefined {
  const a = c.affinity;
  if (a === undefined) return undefined;
  return `sticky sessions by cookie ${a.name} (${a.mode})`;
}
