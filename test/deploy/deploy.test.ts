// The installation artefacts: deploy/martello.yaml and the Helm chart. These
// tests pin the properties that matter in a cluster (probes on the admin port,
// a locked-down container, least-privilege RBAC, selectors that really select
// the pods), so a careless edit fails here rather than in someone's cluster.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { startTestApiServer } from '../kube-apiserver/index.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { onPath } from '../support/on-path.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const MANIFEST = join(REPO_ROOT, 'deploy', 'martello.yaml');
const CHART = join(REPO_ROOT, 'charts', 'martello');

const CONTROLLER_CLASS = 'martello.dev/ingress-controller';
const NAMESPACE = 'martello';

// ---------------------------------------------------------------------------
// The shapes read here (only the fields the assertions use).

interface Meta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: Meta;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
}

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}

interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath?: string } } }>;
  ports?: Array<{ name?: string; containerPort: number; hostPort?: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds?: number }; exec?: { command?: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
}

interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  topologySpreadConstraints?: Array<{ topologyKey?: string; labelSelector?: { matchLabels?: Record<string, string> } }>;
  affinity?: { podAntiAffinity?: unknown };
  containers: Container[];
}

interface Workload extends KubeObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: Meta; spec: PodSpec };
  };
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
  resourceNames?: string[];
}

interface RoleObject extends KubeObject {
  rules?: PolicyRule[];
}

interface Binding extends KubeObject {
  roleRef: { apiGroup: string; kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
}

interface ServiceObject extends KubeObject {
  spec: {
    type?: string;
    externalTrafficPolicy?: string;
    selector?: Record<string, string>;
    ports: Array<{ name?: string; port: number; targetPort?: string | number }>;
  };
}

// ---------------------------------------------------------------------------
// Helpers.

function parseManifests(text: string, source: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${source}: YAML errors in document ${i + 1}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // a comment-only document
    assert.equal(typeof value, 'object', `${source}: document ${i + 1} is not an object`);
    objects.push(value as KubeObject);
  }
  return objects;
}

function describeObject(o: KubeObject): string {
  return `${o.kind}/${o.metadata?.namespace === undefined ? '' : `${o.metadata.namespace}/`}${o.metadata?.name}`;
}

/** The sorted identities of everything but the Namespace. */
function objectIds(objects: readonly KubeObject[]): string[] {
  return objects.filter((o) => o.kind !== 'Namespace').map(describeObject).sort();
}

function ofKind<T extends KubeObject>(objects: readonly KubeObject[], ...kinds: string[]): T[] {
  return objects.filter((o) => o.kind !== undefined && kinds.includes(o.kind)) as T[];
}

function only<T>(items: readonly T[], what: string): T {
  assert.equal(items.length, 1, `exactly one ${what} expected, found ${items.length}`);
  return items[0]!;
}

/** The value of `--flag=value` or `--flag value` in an argument list. */
function flag(args: readonly string[], name: string): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
    if (arg === name) return args[i + 1];
  }
  return undefined;
}

function portOf(address: string): number {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  assert.ok(Number.isInteger(port) && port > 0 && port < 65536, `bad ADDR:PORT ${address}`);
  return port;
}

function isSubset(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || Object.keys(selector).length === 0) return false; // an empty selector selects everything
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Kinds whose objects live in a namespace (the ones these artefacts use). */
const NAMESPACED = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'Deployment', 'DaemonSet', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'ServiceMonitor', 'ConfigMap', 'Secret']);

// Everything the controller may do, and nothing more: apiGroup/resource → verbs.
// Leases are separate: they may only appear in a Role in Martello's namespace.
const READ = ['get', 'list', 'watch'];
const ALLOWED: ReadonlyMap<string, readonly string[]> = new Map([
  ['networking.k8s.io/ingresses', READ],
  ['networking.k8s.io/ingressclasses', READ],
  // The status writer sends merge patches; update is the same right over PUT.
  ['networking.k8s.io/ingresses/status', ['update', 'patch']],
  ['/services', READ],
  ['/secrets', READ],
  ['discovery.k8s.io/endpointslices', READ],
  ['events.k8s.io/events', ['create', 'patch']],
  ['/events', ['create', 'patch']],
]);
const LEASE_VERBS = ['get', 'create', 'update'];

/** Every (group/resource, verb) a role grants, with the rule it came from. */
function grants(role: RoleObject): Array<{ key: string; verb: string }> {
  const out: Array<{ key: string; verb: string }> = [];
  for (const rule of role.rules ?? []) {
    assert.equal(rule.nonResourceURLs, undefined, `${describeObject(role)}: nonResourceURLs are not needed`);
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        for (const verb of rule.verbs) out.push({ key: `${group}/${resource}`, verb });
      }
    }
  }
  return out;
}

interface InstallExpectations {
  /**
   * A plain file applied in order: it holds the Namespace first, and the
   * ServiceAccount and RBAC come before the workload. (`helm template` has no
   * Namespace, and Helm orders objects by kind itself.)
   */
  readonly ordered: boolean;
}

/**
 * The properties every rendering of the installation must have: the plain
 * manifests, and the Helm chart's output when helm is available.
 */
function checkInstall(objects: readonly KubeObject[], source: string, expect: InstallExpectations): void {
  // Every object is well formed and unique.
  const seen = new Set<string>();
  for (const o of objects) {
    assert.ok(typeof o.apiVersion === 'string' && o.apiVersion !== '', `${source}: an object without apiVersion: ${JSON.stringify(o).slice(0, 120)}`);
    assert.ok(typeof o.kind === 'string' && o.kind !== '', `${source}: an object without kind`);
    assert.ok(typeof o.metadata?.name === 'string' && o.metadata.name !== '', `${source}: ${o.kind} without metadata.name`);
    if (NAMESPACED.has(o.kind)) {
      assert.equal(o.metadata.namespace, NAMESPACE, `${source}: ${describeObject(o)} must be in namespace ${NAMESPACE}`);
    } else if (o.kind !== 'Role' && o.kind !== 'RoleBinding') {
      assert.equal(o.metadata.namespace, undefined, `${source}: cluster-scoped ${describeObject(o)} must not name a namespace`);
    }
    const id = describeObject(o);
    assert.ok(!seen.has(id), `${source}: ${id} appears twice`);
    seen.add(id);
  }
  if (expect.ordered) {
    assert.equal(objects[0]?.kind, 'Namespace', `${source}: the Namespace comes first, so everything after it can be created`);
    assert.equal(objects[0]?.metadata?.name, NAMESPACE);
  }

  // The controller workload and its container.
  const workload = only(ofKind<Workload>(objects, 'Deployment', 'DaemonSet'), `${source}: Deployment or DaemonSet`);
  const pod = workload.spec.template;
  const container = only(pod.spec.containers.filter((c) => c.name === 'martello'), 'container named martello');
  const args = container.args ?? [];
  assert.equal(container.command, undefined, `${source}: the image's entrypoint runs Martello; only args are given`);
  assert.equal(args[0], 'controller', `${source}: the container runs 'martello controller'`);
  const workloadIndex = objects.indexOf(workload);
  for (const kind of expect.ordered ? ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'] : []) {
    for (const o of ofKind(objects, kind)) {
      assert.ok(objects.indexOf(o) < workloadIndex, `${source}: ${describeObject(o)} must come before the ${workload.kind}, so the pods start with their rights`);
    }
  }

  // Selector ↔ pod labels.
  assert.ok(isSubset(workload.spec.selector.matchLabels, pod.metadata.labels), `${source}: the ${workload.kind} selector must match its pod labels`);
  const podLabels = pod.metadata.labels;

  // Ports and probes: the admin port is the one --listen-admin names, bound to
  // all addresses so the kubelet reaches it.
  const listenAdmin = flag(args, '--listen-admin');
  assert.ok(listenAdmin !== undefined, `${source}: --listen-admin must be given (its default 127.0.0.1 is unreachable for kubelet probes)`);
  assert.ok(listenAdmin.startsWith('0.0.0.0:') || listenAdmin.startsWith('[::]:'), `${source}: --listen-admin must listen on all addresses, got ${listenAdmin}`);
  const adminPort = portOf(listenAdmin);
  const ports = container.ports ?? [];
  const portNamed = (name: string): number | undefined => ports.find((p) => p.name === name)?.containerPort;
  const admin = ports.find((p) => p.containerPort === adminPort);
  assert.ok(admin !== undefined, `${source}: no container port ${adminPort} for --listen-admin`);
  assert.equal(portNamed('http'), portOf(flag(args, '--listen-http') ?? '0.0.0.0:8080'), `${source}: port "http" must be --listen-http's port`);
  assert.equal(portNamed('https'), portOf(flag(args, '--listen-https') ?? '0.0.0.0:8443'), `${source}: port "https" must be --listen-https's port`);
  const probeTarget = (probe: Probe | undefined, what: string): { path: string | undefined; port: number | undefined } => {
    assert.ok(probe?.httpGet !== undefined, `${source}: ${what} must be an httpGet probe`);
    const port = probe.httpGet.port;
    return { path: probe.httpGet.path, port: typeof port === 'number' ? port : port === undefined ? undefined : portNamed(port) };
  };
  assert.deepEqual(probeTarget(container.readinessProbe, 'readinessProbe'), { path: '/readyz', port: adminPort }, `${source}: readiness is GET /readyz on the admin port`);
  assert.deepEqual(probeTarget(container.livenessProbe, 'livenessProbe'), { path: '/healthz', port: adminPort }, `${source}: liveness is GET /healthz on the admin port`);
  assert.equal(probeTarget(container.startupProbe, 'startupProbe').port, adminPort, `${source}: the startup probe uses the admin port`);

  // The controller's namespace and name come from the downward API.
  const fieldRef = (name: string): string | undefined => container.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
  assert.equal(fieldRef('POD_NAMESPACE'), 'metadata.namespace', `${source}: POD_NAMESPACE from the downward API`);
  assert.equal(fieldRef('POD_NAME'), 'metadata.name', `${source}: POD_NAME from the downward API`);

  // Locked-down container (container settings override the pod's).
  const podSc = pod.spec.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const effective = <K extends keyof SecurityContext>(key: K): SecurityContext[K] => sc[key] ?? podSc[key];
  assert.equal(effective('runAsNonRoot'), true, `${source}: runAsNonRoot`);
  assert.equal(effective('runAsUser'), 65532, `${source}: runs as user 65532`);
  assert.equal(sc.readOnlyRootFilesystem, true, `${source}: read-only root filesystem`);
  assert.equal(sc.allowPrivilegeEscalation, false, `${source}: no privilege escalation`);
  assert.notEqual(sc.privileged, true, `${source}: not privileged`);
  assert.ok(sc.capabilities?.drop?.includes('ALL'), `${source}: drops ALL capabilities`);
  assert.deepEqual(sc.capabilities?.add ?? [], [], `${source}: adds no capability`);
  assert.equal(effective('seccompProfile')?.type, 'RuntimeDefault', `${source}: seccomp RuntimeDefault`);
  for (const hostNs of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    assert.notEqual(pod.spec[hostNs], true, `${source}: no ${hostNs}`);
  }

  // Resources: requests for scheduling, a memory limit against leaks.
  assert.ok(container.resources?.requests?.cpu !== undefined && container.resources.requests.memory !== undefined, `${source}: cpu and memory requests`);
  assert.ok(container.resources.limits?.memory !== undefined, `${source}: a memory limit`);

  // Graceful stop: the grace period covers the preStop pause and Martello's 30 s drain.
  const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
  const preStopSleep = container.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert.ok(grace >= preStopSleep + 30 + 5, `${source}: terminationGracePeriodSeconds ${grace} must exceed the preStop sleep (${preStopSleep}) + 30 s drain`);

  // Its ServiceAccount exists, and its token is mounted (it talks to the API).
  assert.notEqual(pod.spec.automountServiceAccountToken, false, `${source}: the controller needs its ServiceAccount token`);
  const saName = pod.spec.serviceAccountName;
  assert.ok(saName !== undefined && saName !== 'default', `${source}: a dedicated ServiceAccount`);
  const sa = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata?.name === saName && o.metadata.namespace === workload.metadata?.namespace);
  assert.ok(sa !== undefined, `${source}: ServiceAccount ${saName} referenced by the ${workload.kind} does not exist`);

  // Deployment replicas spread across nodes.
  if (workload.kind === 'Deployment') {
    const spread = pod.spec.topologySpreadConstraints?.find((t) => t.topologyKey === 'kubernetes.io/hostname');
    assert.ok(spread !== undefined || pod.spec.affinity?.podAntiAffinity !== undefined, `${source}: replicas must be spread across nodes`);
    if (spread !== undefined) assert.ok(isSubset(spread.labelSelector?.matchLabels, podLabels), `${source}: the spread constraint must select the pods`);
  }

  // IngressClass.
  const ingressClass = only(ofKind<KubeObject & { spec: { controller?: string } }>(objects, 'IngressClass'), `${source}: IngressClass`);
  assert.equal(ingressClass.spec.controller, CONTROLLER_CLASS, `${source}: IngressClass controller`);
  assert.equal(flag(args, '--controller-class') ?? CONTROLLER_CLASS, CONTROLLER_CLASS, `${source}: --controller-class must equal the IngressClass controller`);
  assert.equal(flag(args, '--ingress-class') ?? 'martello', ingressClass.metadata?.name, `${source}: --ingress-class names the IngressClass`);
  assert.notEqual(ingressClass.metadata?.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true', `${source}: Martello must not become the default class by default`);

  // Service: selects the pods, maps 80/443 to the named container ports, keeps client IPs.
  const service = only(ofKind<ServiceObject>(objects, 'Service').filter((s) => s.spec.ports.some((p) => p.targetPort === 'http')), `${source}: traffic Service`);
  assert.ok(isSubset(service.spec.selector, podLabels), `${source}: the Service must select the controller pods`);
  assert.equal(service.spec.type, 'LoadBalancer', `${source}: Service type`);
  assert.equal(service.spec.externalTrafficPolicy, 'Local', `${source}: externalTrafficPolicy Local keeps client source IPs`);
  const servicePort = (port: number): string | number | undefined => service.spec.ports.find((p) => p.port === port)?.targetPort;
  assert.equal(servicePort(80), 'http', `${source}: Service port 80 → container port http`);
  assert.equal(servicePort(443), 'https', `${source}: Service port 443 → container port https`);
  for (const p of service.spec.ports) {
    assert.ok(typeof p.targetPort !== 'string' || portNamed(p.targetPort) !== undefined, `${source}: Service targetPort ${p.targetPort} names no container port`);
  }
  // --publish-service points at this Service.
  const publish = flag(args, '--publish-service');
  assert.equal(publish, `${service.metadata?.namespace}/${service.metadata?.name}`, `${source}: --publish-service must name the Service whose address goes into Ingress status`);

  // PodDisruptionBudget selects the same pods and leaves room for a disruption.
  if (workload.kind === 'Deployment') {
    const pdb = only(ofKind<KubeObject & { spec: { minAvailable?: number; selector: { matchLabels: Record<string, string> } } }>(objects, 'PodDisruptionBudget'), `${source}: PodDisruptionBudget`);
    assert.ok(isSubset(pdb.spec.selector.matchLabels, podLabels), `${source}: the PDB must select the controller pods`);
    assert.equal(pdb.spec.minAvailable, 1, `${source}: PDB minAvailable`);
    assert.ok((workload.spec.replicas ?? 1) > (pdb.spec.minAvailable ?? 0), `${source}: replicas must exceed minAvailable or no node can ever be drained`);
  }

  checkRbac(objects, source, saName, workload.metadata?.namespace ?? NAMESPACE);
}

function checkRbac(objects: readonly KubeObject[], source: string, saName: string, controllerNamespace: string): void {
  const roles = ofKind<RoleObject>(objects, 'ClusterRole', 'Role');
  assert.ok(roles.length > 0, `${source}: no RBAC roles`);
  const granted = new Set<string>();
  for (const role of roles) {
    const where = `${source}: ${describeObject(role)}`;
    for (const rule of role.rules ?? []) {
      for (const field of ['apiGroups', 'resources', 'verbs'] as const) {
        assert.ok(!(rule[field] ?? []).includes('*'), `${where}: no "*" in ${field}`);
      }
    }
    for (const { key, verb } of grants(role)) {
      assert.ok(!['escalate', 'bind', 'impersonate', 'deletecollection', 'delete'].includes(verb), `${where}: verb ${verb} on ${key} is never needed`);
      assert.ok(!key.startsWith('/pods') && !key.startsWith('/nodes') && key !== '/serviceaccounts/token', `${where}: ${key} is never needed`);
      if (key === '/secrets') assert.ok(READ.includes(verb), `${where}: Secrets are read-only (${verb} granted)`);
      if (key === 'coordination.k8s.io/leases') {
        assert.equal(role.kind, 'Role', `${where}: Lease rights only in a namespaced Role`);
        assert.equal(role.metadata?.namespace, controllerNamespace, `${where}: Lease rights only in Martello's own namespace`);
        assert.ok(LEASE_VERBS.includes(verb), `${where}: verb ${verb} on leases`);
      } else {
        const allowed = ALLOWED.get(key);
        assert.ok(allowed !== undefined, `${where}: ${key} is not something Martello needs`);
        assert.ok(allowed.includes(verb), `${where}: verb ${verb} on ${key} is beyond what Martello needs (${allowed.join(', ')})`);
      }
      granted.add(`${key}:${verb}`);
    }
  }
  // ... and what it needs is granted (else the controller fails at start).
  const needed = [...[...ALLOWED].flatMap(([key, verbs]) => verbs.map((v) => `${key}:${v}`)), ...LEASE_VERBS.map((v) => `coordination.k8s.io/leases:${v}`)];
  for (const n of needed) assert.ok(granted.has(n), `${source}: ${n} is needed but not granted`);

  // Every role is bound to Martello's ServiceAccount, and every binding names an existing role.
  const bindings = ofKind<Binding>(objects, 'ClusterRoleBinding', 'RoleBinding');
  for (const b of bindings) {
    const where = `${source}: ${describeObject(b)}`;
    assert.equal(b.roleRef.apiGroup, 'rbac.authorization.k8s.io', where);
    const role = roles.find((r) => r.kind === b.roleRef.kind && r.metadata?.name === b.roleRef.name && (r.kind === 'ClusterRole' || r.metadata?.namespace === b.metadata?.namespace));
    assert.ok(role !== undefined, `${where}: binds ${b.roleRef.kind} ${b.roleRef.name}, which is not in the manifests`);
    assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: saName, namespace: controllerNamespace }], `${where}: binds only Martello's ServiceAccount`);
    if (b.kind === 'ClusterRoleBinding') assert.equal(b.roleRef.kind, 'ClusterRole', where);
  }
  for (const role of roles) {
    const bound = bindings.some((b) => b.roleRef.kind === role.kind && b.roleRef.name === role.metadata?.name && (role.kind === 'ClusterRole' || b.metadata?.namespace === role.metadata?.namespace));
    assert.ok(bound, `${source}: ${describeObject(role)} is never bound`);
  }
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------
// deploy/martello.yaml

describe('deploy/martello.yaml', () => {
  let objects: KubeObject[];
  before(async () => {
    objects = parseManifests(await readFile(MANIFEST, 'utf8'), 'deploy/martello.yaml');
  });

  test('holds the installation, in order', () => {
    assert.deepEqual(objects.map((o) => o.kind), [
      'Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding',
      'IngressClass', 'Deployment', 'Service', 'PodDisruptionBudget',
    ]);
  });

  test('probes, security, RBAC, selectors and class are what a cluster needs', () => {
    checkInstall(objects, 'deploy/martello.yaml', { ordered: true });
  });

  test('the Deployment runs 2 replicas of the released image with the documented arguments', async () => {
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const deployment = only(ofKind<Workload>(objects, 'Deployment'), 'Deployment');
    assert.equal(deployment.spec.replicas, 2);
    const container = deployment.spec.template.spec.containers[0]!;
    assert.equal(container.image, `ghcr.io/martello-dev/martello:${pkg.version}`, 'the image tag follows package.json');
    assert.deepEqual(container.args, ['controller', '--publish-service=martello/martello', '--listen-admin=0.0.0.0:10254', '--shutdown-grace-period=5']);
    assert.equal(deployment.spec.template.spec.terminationGracePeriodSeconds, 60);
    assert.deepEqual(container.resources?.requests, { cpu: '100m', memory: '128Mi' });
  });

  test('the namespace enforces the restricted Pod Security Standard the pods meet', () => {
    const ns = only(ofKind(objects, 'Namespace'), 'Namespace');
    assert.equal(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  test('the real kubectl applies every object to the test API server', async (t) => {
    const kubectl = await onPath('kubectl');
    if (kubectl === undefined) {
      t.skip('kubectl is not on PATH (CI installs it): apply not checked');
      return;
    }
    const home = await mkdtemp(join(tmpdir(), 'martello-kubectl-'));
    const server = await startTestApiServer();
    try {
      const kubeconfig = join(home, 'kubeconfig');
      await writeFile(kubeconfig, server.kubeconfig());
      const env = { PATH: process.env.PATH, HOME: home, KUBECONFIG: kubeconfig };
      // --validate=false: the test API server serves no OpenAPI documents.
      const result = await run(kubectl, ['apply', '--validate=false', '-f', MANIFEST, '-o', 'name'], env);
      assert.equal(result.code, 0, `kubectl failed: ${result.stderr}`);
      const expected = objects.map((o) => {
        const group = o.apiVersion!.includes('/') ? `.${o.apiVersion!.split('/')[0]}` : '';
        return `${o.kind!.toLowerCase()}${group}/${o.metadata!.name}`;
      });
      assert.deepEqual(result.stdout.trim().split('\n'), expected);
      for (const o of objects) {
        const stored = server.get(o.apiVersion!, o.kind!, o.metadata!.namespace ?? '', o.metadata!.name!);
        assert.ok(stored !== undefined, `${o.kind} ${o.metadata!.name} is stored`);
      }
    } finally {
      await server.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------------------
// charts/martello

describe('charts/martello', () => {
  test('Chart.yaml is a v2 application chart whose appVersion is the package version', async () => {
    const [chart] = parseManifests(await readFile(join(CHART, 'Chart.yaml'), 'utf8'), 'Chart.yaml') as unknown as Array<Record<string, unknown>>;
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart?.apiVersion, 'v2');
    assert.equal(chart?.name, 'martello');
    assert.equal(chart?.type, 'application');
    assert.equal(chart?.appVersion, pkg.version);
  });

  test('the default values match deploy/martello.yaml', async () => {
    const [values] = parseManifests(await readFile(join(CHART, 'values.yaml'), 'utf8'), 'values.yaml') as unknown as Array<{
      kind: string; replicaCount: number; image: { repository: string; tag: string };
      ingressClass: { name: string; default: boolean; controller: string };
      service: { type: string; externalTrafficPolicy: string; ports: { http: number; https: number } };
      containerPorts: { http: number; https: number; admin: number };
      resources: unknown; podDisruptionBudget: { enabled: boolean; minAvailable: number };
      terminationGracePeriodSeconds: number; watchNamespaces: unknown[];
    }>;
    assert.ok(values !== undefined);
    const plain = parseManifests(await readFile(MANIFEST, 'utf8'), 'deploy/martello.yaml');
    const deployment = only(ofKind<Workload>(plain, 'Deployment'), 'Deployment');
    const container = deployment.spec.template.spec.containers[0]!;
    const ingressClass = only(ofKind<KubeObject & { spec: { controller: string } }>(plain, 'IngressClass'), 'IngressClass');
    assert.equal(values.kind, 'Deployment');
    assert.equal(values.replicaCount, deployment.spec.replicas);
    assert.equal(values.image.repository, container.image?.split(':')[0]);
    assert.equal(values.ingressClass.name, ingressClass.metadata?.name);
    assert.equal(values.ingressClass.controller, ingressClass.spec.controller);
    assert.equal(values.ingressClass.default, false);
    assert.equal(values.service.type, 'LoadBalancer');
    assert.equal(values.service.externalTrafficPolicy, 'Local');
    assert.deepEqual(values.containerPorts, { http: 8080, https: 8443, admin: 10254 });
    assert.deepEqual(values.resources, container.resources);
    assert.deepEqual(values.podDisruptionBudget, { enabled: true, minAvailable: 1 });
    assert.equal(values.terminationGracePeriodSeconds, deployment.spec.template.spec.terminationGracePeriodSeconds);
    assert.deepEqual(values.watchNamespaces, []);
  });

  test('every template closes the blocks it opens', async () => {
    // Not a rendering (that needs helm, below): a cheap guard against the
    // commonest broken edit, a lost {{ end }}.
    const dir = join(CHART, 'templates');
    for (const file of await readdir(dir)) {
      const text = await readFile(join(dir, file), 'utf8');
      const actions = [...text.matchAll(/\{\{-?\s*(\/\*[\s\S]*?\*\/|[\s\S]*?)\s*-?\}\}/g)].map((m) => m[1]!.trim());
      let depth = 0;
      for (const action of actions) {
        if (/^(if|range|with|define|block)\b/.test(action)) depth++;
        else if (/^end\b/.test(action)) depth--;
        assert.ok(depth >= 0, `${file}: {{ end }} without an opening block`);
      }
      assert.equal(depth, 0, `${file}: ${depth} block(s) not closed`);
    }
  });

  describe('helm template', () => {
    let helm: string | undefined;
    let home: string;
    before(async () => {
      helm = await onPath('helm');
      home = await mkdtemp(join(tmpdir(), 'martello-helm-'));
    });
    after(() => rm(home, { recursive: true, force: true }));

    const render = async (...set: string[]): Promise<KubeObject[]> => {
      // --kube-version: the chart requires 1.30+, and an older helm's offline default may be lower.
      const args = ['template', 'martello', CHART, '--namespace', NAMESPACE, '--kube-version', '1.31.0', ...set.flatMap((s) => ['--set', s])];
      const result = await run(helm!, args, { PATH: process.env.PATH, HOME: home, HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') });
      assert.equal(result.code, 0, `helm template failed: ${result.stderr}`);
      return parseManifests(result.stdout, `helm template ${set.join(' ')}`);
    };
    const skipMessage = 'helm is not installed (no Debian package for it here): the chart is not rendered; run `helm template martello charts/martello -n martello` where helm exists';

    test('renders the same installation as deploy/martello.yaml', async (t) => {
      if (helm === undefined) return t.skip(skipMessage);
      const rendered = await render();
      checkInstall(rendered, 'helm template', { ordered: false });
      const plain = parseManifests(await readFile(MANIFEST, 'utf8'), 'deploy/martello.yaml');
      assert.deepEqual(objectIds(rendered), objectIds(plain), 'the chart renders the objects of deploy/martello.yaml (less the Namespace)');
    });

    test('watchNamespaces swaps the cluster-wide reads for a Role per namespace', async (t) => {
      if (helm === undefined) return t.skip(skipMessage);
      const rendered = await render('watchNamespaces={team-a,team-b}');
      const clusterRole = only(ofKind<RoleObject>(rendered, 'ClusterRole'), 'ClusterRole');
      assert.deepEqual(grants(clusterRole).map((g) => g.key).filter((k) => k !== 'networking.k8s.io/ingressclasses'), [], 'the ClusterRole keeps only IngressClass reads');
      for (const ns of ['team-a', 'team-b']) {
        const role = ofKind<RoleObject>(rendered, 'Role').find((r) => r.metadata?.namespace === ns);
        assert.ok(role !== undefined && grants(role).some((g) => g.key === '/secrets' && g.verb === 'list'), `a Role in ${ns} with the namespaced reads`);
      }
      checkRbac(rendered, 'helm template (watchNamespaces)', 'martello', NAMESPACE);
      const workload = only(ofKind<Workload>(rendered, 'Deployment'), 'Deployment');
      assert.equal(flag(workload.spec.template.spec.containers[0]!.args ?? [], '--watch-namespace'), 'team-a,team-b');
    });

    test('kind=DaemonSet with host ports binds 80/443 on each node', async (t) => {
      if (helm === undefined) return t.skip(skipMessage);
      const rendered = await render('kind=DaemonSet', 'hostPorts.enabled=true');
      const ds = only(ofKind<Workload>(rendered, 'DaemonSet'), 'DaemonSet');
      assert.equal(ofKind(rendered, 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler').length, 0);
      const ports = ds.spec.template.spec.containers[0]!.ports ?? [];
      assert.equal(ports.find((p) => p.name === 'http')?.hostPort, 80);
      assert.equal(ports.find((p) => p.name === 'https')?.hostPort, 443);
    });

    test('autoscaling renders an autoscaling/v2 HPA and leaves replicas to it', async (t) => {
      if (helm === undefined) return t.skip(skipMessage);
      const rendered = await render('autoscaling.enabled=true', 'autoscaling.maxReplicas=6');
      const hpa = only(ofKind<KubeObject & { spec: { maxReplicas: number; scaleTargetRef: { kind: string; name: string } } }>(rendered, 'HorizontalPodAutoscaler'), 'HPA');
      assert.equal(hpa.apiVersion, 'autoscaling/v2');
      assert.equal(hpa.spec.maxReplicas, 6);
      assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'martello' });
      assert.equal(only(ofKind<Workload>(rendered, 'Deployment'), 'Deployment').spec.replicas, undefined);
    });
  });
});
