// A kubeconfig (YAML text) for a test server. Plain http carries
// `insecure-skip-tls-verify: true` because @kubernetes/client-node's
// KubeConfig refuses an http server without it (kubernetes-api.md §1.2);
// https carries the test CA as certificate-authority-data.

import { Buffer } from 'node:buffer';
import { stringify } from 'yaml';

export interface KubeconfigInput {
  readonly url: string;
  readonly caPem?: string;
  readonly token?: string;
  readonly namespace?: string;
}

export function renderKubeconfig(input: KubeconfigInput): string {
  const cluster: Record<string, unknown> = { server: input.url };
  if (input.caPem !== undefined) cluster['certificate-authority-data'] = Buffer.from(input.caPem, 'utf8').toString('base64');
  else cluster['insecure-skip-tls-verify'] = true;
  const user: Record<string, unknown> = input.token === undefined ? {} : { token: input.token };
  const context: Record<string, unknown> = { cluster: 'martello-test', user: 'martello-test' };
  if (input.namespace !== undefined) context['namespace'] = input.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'martello-test', cluster }],
    users: [{ name: 'martello-test', user }],
    contexts: [{ name: 'martello-test', context }],
    'current-context': 'martello-test',
    preferences: {},
  });
}
