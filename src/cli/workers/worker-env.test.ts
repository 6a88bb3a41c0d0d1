// What a worker inherits: an allow-listed environment, the primary's Node
// flags without inspector ports and environment files, and --worker-user.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseWorkerUser, workerEnvironment, workerExecArgv } from './worker-env.ts';

test('the worker environment is an allow-list: credentials of any name stay in the primary', () => {
  const env = {
    PATH: '/usr/bin:/bin', TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', NODE_OPTIONS: '--max-old-space-size=512',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem', UV_THREADPOOL_SIZE: '8', HOME: '/root', HOSTNAME: 'pod-1',
    KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBECONFIG: '/etc/kube/config', POD_NAME: 'martello-1', POD_NAMESPACE: 'ingress',
    AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'x', AWS_SESSION_TOKEN: 'y', AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks/token',
    GOOGLE_APPLICATION_CREDENTIALS: '/creds.json', AZURE_CLIENT_SECRET: 'z', AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/token',
    GITHUB_TOKEN: 't', DB_PASSWORD: 'p', MY_API_KEY: 'k', npm_config__authToken: 'n', UNDEFINED: undefined,
  };
  const out = workerEnvironment(env, { MARTELLO_WORKER_SLOT: '2' });
  assert.deepEqual(out, {
    PATH: '/usr/bin:/bin', TZ: 'UTC', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', NODE_OPTIONS: '--max-old-space-size=512',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/extra.pem', UV_THREADPOOL_SIZE: '8', MARTELLO_WORKER_SLOT: '2',
  });
});

test('NODE_OPTIONS loses inspector flags; left alone otherwise', () => {
  assert.equal(workerEnvironment({ NODE_OPTIONS: '--inspect=0.0.0.0:9229  --max-old-space-size=256' }, {})['NODE_OPTIONS'], '--max-old-space-size=256');
  assert.equal(workerEnvironment({ NODE_OPTIONS: '--inspect-brk' }, {})['NODE_OPTIONS'], undefined);
  assert.equal(workerEnvironment({ NODE_OPTIONS: '--require "/opt/my hooks.js"' }, {})['NODE_OPTIONS'], '--require "/opt/my hooks.js"');
});

test('the primary\'s Node flags reach workers without inspector ports and environment files', () => {
  assert.deepEqual(workerExecArgv(['--disable-warning=ExperimentalWarning', '--max-old-space-size=512']),
    ['--disable-warning=ExperimentalWarning', '--max-old-space-size=512']);
  assert.deepEqual(workerExecArgv([
    '--inspect=9229', '--env-file=/run/secrets.env', '--env-file', '/run/more.env', '--env-file-if-exists=.env',
    '--inspect-port', '9230', '--stack-size=2000', '--debug-port=1',
  ]), ['--stack-size=2000']);
});

test('--worker-user takes numbers, UID or UID:GID, never root', () => {
  assert.deepEqual(parseWorkerUser('65534'), { uid: 65534, gid: 65534 });
  assert.deepEqual(parseWorkerUser('1000:2000'), { uid: 1000, gid: 2000 });
  for (const bad of ['nobody', '0', '0:0', '1000:0', '-1', '1000:', ':1000', '1 000', '4294967295', '']) {
    assert.equal(typeof parseWorkerUser(bad), 'string', bad);
  }
});
