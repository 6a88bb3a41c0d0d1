// The in-repo test Kubernetes API server: a faithful stand-in for the
// parts of kube-apiserver Martello uses (spec: docs in README.md here and
// /work/shared/research/kubernetes-api.md §2 and §3.4).

export { startTestApiServer } from './server.ts';
export type { TestApiServer, TestApiServerFaults, TestApiServerOptions } from './server.ts';
export type { JournalEntry, InjectedStatus } from './handler.ts';
export type { KubeObject } from './resources.ts';
export type { StatusBody } from './status.ts';
