import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeDocument, decodeObject, type DecodeResult } from './decode.ts';
import type { EndpointSlice, Ingress, Secret, Service } from './objects.ts';

type Raw = Record<string, unknown>;

function ingress(spec: unknown, metadata: Raw = { name: 'web' }): Raw {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata, spec };
}

const backend = { service: { name: 'web', port: { number: 80 } } };

function rule(paths: unknown[], host?: string): Raw {
  return host === undefined ? { http: { paths } } : { host, http: { paths } };
}

function okObject<T>(raw: unknown): T {
  const result = decodeObject(raw);
  assert.equal(result.ok, true, `expected success, got ${JSON.stringify(result)}`);
  return (result as unknown as { object: T }).object;
}

function problemsOf(result: DecodeResult): Array<[string, string]> {
  assert.equal(result.ok, false, `expected failure, got ${JSON.stringify(result)}`);
  return result.ok === false ? result.problems.map((p) => [p.field, p.code]) : [];
}

describe('decodeObject: valid objects get their defaults', () => {
  test('Ingress', () => {
    const ing = okObject<Ingress>(
      ingress(
        {
          ingressClassName: 'martello',
          tls: [{ hosts: ['a.example.com', '*.example.org'], secretName: 'cert' }],
          rules: [rule([{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { name: 'http' } } } }], 'a.example.com'), { host: 'b.example.com' }],
        },
        { name: 'web', labels: { app: 'web' }, creationTimestamp: '2024-05-01T10:00:00Z', generation: 3 },
      ),
    );
    assert.deepEqual(ing, {
      kind: 'Ingress',
      apiVersion: 'networking.k8s.io/v1',
      metadata: {
        name: 'web',
        namespace: 'default',
        uid: undefined,
        resourceVersion: undefined,
        generation: 3,
        creationTimestamp: '2024-05-01T10:00:00Z',
        labels: { __proto__: null, app: 'web' },
        annotations: { __proto__: null },
      },
      spec: {
        ingressClassName: 'martello',
        defaultBackend: undefined,
        tls: [{ hosts: ['a.example.com', '*.example.org'], secretName: 'cert' }],
        rules: [
          {
            host: 'a.example.com',
            paths: [{ path: '/api', pathType: 'Prefix', backend: { service: { name: 'api', port: { number: undefined, name: 'http' } }, resource: undefined } }],
          },
          { host: 'b.example.com', paths: [] },
        ],
      },
      status: { loadBalancer: { ingress: [] } },
    });
  });

  test('Ingress status.loadBalancer keeps the API shape; malformed parts are skipped, not reported', () => {
    const ing = okObject<Ingress>({
      ...ingress({ defaultBackend: backend }),
      status: {
        loadBalancer: {
          ingress: [
            { ip: '203.0.113.10' },
            { hostname: 'lb.example.com', ports: [{ port: 443, protocol: 'TCP' }, { port: 80, protocol: 'TCP', error: 'Pending' }, { port: 'x' }] },
            'junk',
            {},
            { ip: 7, hostname: 'only-host.example.com' },
          ],
        },
      },
    });
    assert.deepEqual(ing.status.loadBalancer.ingress, [
      { ip: '203.0.113.10' },
      { hostname: 'lb.example.com', ports: [{ port: 443, protocol: 'TCP' }, { port: 80, protocol: 'TCP', error: 'Pending' }] },
      { hostname: 'only-host.example.com' },
    ]);
    assert.deepEqual(okObject<Ingress>({ ...ingress({ defaultBackend: backend }), status: { loadBalancer: { ingress: 'x' } } }).status, { loadBalancer: { ingress: [] } });
  });

  test('Ingress with only a defaultBackend, null fields read as absent', () => {
    const ing = okObject<Ingress>(ingress({ defaultBackend: backend, rules: null, tls: null }, { name: 'x', namespace: 'shop', annotations: null }));
    assert.equal(ing.metadata.namespace, 'shop');
    assert.deepEqual(ing.spec.rules, []);
    assert.deepEqual(ing.spec.defaultBackend?.service?.port, { number: 80, name: undefined });
  });

  test('ImplementationSpecific path may be omitted', () => {
    const ing = okObject<Ingress>(ingress({ rules: [rule([{ pathType: 'ImplementationSpecific', backend }])] }));
    assert.equal(ing.spec.rules[0]?.paths[0]?.path, undefined);
  });

  test('resource backend', () => {
    const ing = okObject<Ingress>(ingress({ defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'static' } } }));
    assert.deepEqual(ing.spec.defaultBackend, { service: undefined, resource: { apiGroup: 'k8s.example.com', kind: 'Bucket', name: 'static' } });
  });

  test('IngressClass is cluster-scoped: namespace is always ""', () => {
    const cls = okObject<{ metadata: { namespace: string }; spec: unknown }>({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'martello', namespace: 'ignored' },
      spec: { controller: 'martello.dev/ingress-controller' },
    });
    assert.equal(cls.metadata.namespace, '');
    assert.deepEqual(cls.spec, { controller: 'martello.dev/ingress-controller' });
  });

  test('Service defaults type and protocol', () => {
    const svc = okObject<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'grpc', port: 9000, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' }] },
    });
    assert.deepEqual(svc.spec, {
      type: 'ClusterIP',
      externalName: undefined,
      clusterIP: undefined,
      clusterIPs: [],
      externalIPs: [],
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: undefined },
        { name: 'grpc', port: 9000, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'kubernetes.io/h2c' },
      ],
    });
  });

  test('Service addresses and load-balancer status', () => {
    const lb = okObject<Service>({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'martello', namespace: 'ingress' },
      spec: { type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::10'], externalIPs: ['198.51.100.7'], ports: [{ port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }, { hostname: 'a1.elb.example.com' }] } },
    });
    assert.equal(lb.spec.clusterIP, '10.96.0.10');
    assert.deepEqual(lb.spec.clusterIPs, ['10.96.0.10', 'fd00::10']);
    assert.deepEqual(lb.spec.externalIPs, ['198.51.100.7']);
    assert.deepEqual(lb.status.loadBalancer.ingress, [{ ip: '203.0.113.10' }, { hostname: 'a1.elb.example.com' }]);
    assert.equal(okObject<Service>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'h' }, spec: { clusterIP: 'None' } }).spec.clusterIP, 'None');
  });

  test('ExternalName Service needs no ports; headless Service neither', () => {
    const ext = okObject<Service>({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext' }, spec: { type: 'ExternalName', externalName: 'db.example.com.' } });
    assert.equal(ext.spec.externalName, 'db.example.com.');
    okObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'headless' }, spec: { clusterIP: 'None' } });
  });

  test('EndpointSlice defaults port name and protocol', () => {
    const slice = okObject<EndpointSlice>({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv6',
      endpoints: [{ addresses: ['fd00::1', '::ffff:10.0.0.1'], conditions: { ready: true }, nodeName: 'node-1', zone: 'a' }],
      ports: [{ port: 8080 }],
    });
    assert.deepEqual(slice.endpoints[0], {
      addresses: ['fd00::1', '::ffff:10.0.0.1'],
      conditions: { ready: true, serving: undefined, terminating: undefined },
      nodeName: 'node-1',
      zone: 'a',
    });
    assert.deepEqual(slice.ports, [{ name: '', port: 8080, protocol: 'TCP', appProtocol: undefined }]);
  });

  test('EndpointSlice zone hints', () => {
    const slice = okObject<EndpointSlice>({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], zone: 'zone-a', hints: { forZones: [{ name: 'zone-a' }, { name: 'zone-b' }] } },
        { addresses: ['10.0.0.2'], zone: 'zone-b' },
      ],
      ports: [{ port: 8080 }],
    });
    assert.deepEqual(slice.endpoints[0]?.hints, { forZones: ['zone-a', 'zone-b'] });
    assert.equal(slice.endpoints[1]?.hints, undefined);
  });

  test('Secret decodes base64 data and merges stringData over it', () => {
    const secret = okObject<Secret>({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cert' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': 'Y2VydA==', 'tls.key': 'b2xk' },
      stringData: { 'tls.key': 'new' },
    });
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(secret.data, { __proto__: null, 'tls.crt': new TextEncoder().encode('cert'), 'tls.key': new TextEncoder().encode('new') });
    assert.equal(okObject<Secret>({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } }).type, 'Opaque');
  });

  test('unknown fields are ignored', () => {
    const ing = okObject<Ingress>({ ...ingress({ defaultBackend: backend, surprise: 1 }), status: { loadBalancer: {} }, extra: true });
    assert.equal(ing.spec.rules.length, 0);
  });
});

interface BadCase {
  readonly name: string;
  readonly raw: unknown;
  readonly expect: Array<[string, string]>;
}

const path = (p: Raw): Raw => ingress({ rules: [rule([p])] });
const svc = (spec: unknown, name = 'web'): Raw => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec });
const slice = (fields: Raw): Raw => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, addressType: 'IPv4', ...fields });
const secret = (fields: Raw): Raw => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, ...fields });
const P = 'spec.rules[0].http.paths[0]';

const badCases: BadCase[] = [
  // type and identity
  { name: 'not an object', raw: 'hello', expect: [['', 'field-invalid-type']] },
  { name: 'kind missing', raw: { apiVersion: 'v1', metadata: { name: 'x' } }, expect: [['kind', 'field-required']] },
  { name: 'apiVersion missing on a known kind', raw: { kind: 'Secret', metadata: { name: 'x' } }, expect: [['apiVersion', 'field-required']] },
  { name: 'old Ingress apiVersion', raw: { ...ingress({ defaultBackend: backend }), apiVersion: 'extensions/v1beta1' }, expect: [['apiVersion', 'field-not-supported']] },
  { name: 'EndpointSlice v1beta1', raw: { ...slice({}), apiVersion: 'discovery.k8s.io/v1beta1' }, expect: [['apiVersion', 'field-not-supported']] },
  // metadata
  { name: 'metadata missing', raw: { apiVersion: 'v1', kind: 'Secret' }, expect: [['metadata', 'field-required']] },
  { name: 'name missing', raw: secret({ metadata: { namespace: 'a' } }), expect: [['metadata.name', 'field-required']] },
  { name: 'uppercase name', raw: secret({ metadata: { name: 'Web' } }), expect: [['metadata.name', 'field-invalid']] },
  { name: 'name too long', raw: secret({ metadata: { name: 'a'.repeat(254) } }), expect: [['metadata.name', 'field-invalid']] },
  { name: 'Service name must be a DNS-1035 label', raw: svc({ ports: [{ port: 80 }] }, '1web'), expect: [['metadata.name', 'field-invalid']] },
  { name: 'namespace with a dot', raw: secret({ metadata: { name: 's', namespace: 'a.b' } }), expect: [['metadata.namespace', 'field-invalid']] },
  { name: 'namespace not a string', raw: secret({ metadata: { name: 's', namespace: 7 } }), expect: [['metadata.namespace', 'field-invalid-type']] },
  { name: 'annotation value not a string', raw: secret({ metadata: { name: 's', annotations: { 'martello.dev/timeout': 30 } } }), expect: [['metadata.annotations["martello.dev/timeout"]', 'field-invalid-type']] },
  { name: 'label value with a space', raw: secret({ metadata: { name: 's', labels: { app: 'my app' } } }), expect: [['metadata.labels["app"]', 'field-invalid']] },
  { name: 'label key invalid', raw: secret({ metadata: { name: 's', labels: { '-bad': 'x' } } }), expect: [['metadata.labels["-bad"]', 'field-invalid']] },
  { name: 'labels not a map', raw: secret({ metadata: { name: 's', labels: ['a'] } }), expect: [['metadata.labels', 'field-invalid-type']] },
  { name: 'creationTimestamp not RFC 3339', raw: secret({ metadata: { name: 's', creationTimestamp: '2024-13-01T00:00:00Z' } }), expect: [['metadata.creationTimestamp', 'field-invalid']] },
  { name: 'generation not an integer', raw: secret({ metadata: { name: 's', generation: 1.5 } }), expect: [['metadata.generation', 'field-invalid-type']] },
  { name: 'uid not a string', raw: secret({ metadata: { name: 's', uid: 12 } }), expect: [['metadata.uid', 'field-invalid-type']] },
  // Ingress spec
  { name: 'Ingress without spec', raw: ingress(undefined), expect: [['spec', 'field-required']] },
  { name: 'Ingress spec not an object', raw: ingress('x'), expect: [['spec', 'field-invalid-type']] },
  { name: 'Ingress with neither rules nor defaultBackend', raw: ingress({ tls: [] }), expect: [['spec', 'field-required']] },
  { name: 'ingressClassName not a string', raw: ingress({ defaultBackend: backend, ingressClassName: 1 }), expect: [['spec.ingressClassName', 'field-invalid-type']] },
  { name: 'rules not a list', raw: ingress({ rules: { host: 'a' } }), expect: [['spec.rules', 'field-invalid-type']] },
  { name: 'rule not an object', raw: ingress({ rules: ['a.example.com'] }), expect: [['spec.rules[0]', 'field-invalid-type']] },
  { name: 'http without paths', raw: ingress({ rules: [{ host: 'a.example.com', http: {} }] }), expect: [['spec.rules[0].http.paths', 'field-required']] },
  { name: 'http with empty paths', raw: ingress({ rules: [rule([])] }), expect: [['spec.rules[0].http.paths', 'field-required']] },
  // hosts
  { name: 'uppercase host', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], 'Example.com')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'IPv4 host', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], '10.0.0.1')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'IPv6 host', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], '::1')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'host with port', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], 'a.example.com:8080')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'wildcard not first label', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], 'a.*.example.com')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'partial wildcard label', raw: ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], '*a.example.com')] }), expect: [['spec.rules[0].host', 'field-invalid']] },
  { name: 'TLS host invalid', raw: ingress({ defaultBackend: backend, tls: [{ hosts: ['ok.example.com', 'Bad_Host'] }] }), expect: [['spec.tls[0].hosts[1]', 'field-invalid']] },
  { name: 'TLS hosts not strings', raw: ingress({ defaultBackend: backend, tls: [{ hosts: [1] }] }), expect: [['spec.tls[0].hosts[0]', 'field-invalid-type']] },
  { name: 'TLS secretName invalid', raw: ingress({ defaultBackend: backend, tls: [{ secretName: 'My_Cert' }] }), expect: [['spec.tls[0].secretName', 'field-invalid']] },
  // paths
  { name: 'pathType missing', raw: path({ path: '/', backend }), expect: [[`${P}.pathType`, 'field-required']] },
  { name: 'pathType unknown', raw: path({ path: '/', pathType: 'Regex', backend }), expect: [[`${P}.pathType`, 'field-not-supported']] },
  { name: 'Prefix path missing', raw: path({ pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-required']] },
  { name: 'Exact path relative', raw: path({ path: 'api', pathType: 'Exact', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path with //', raw: path({ path: '/a//b', pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path with /./', raw: path({ path: '/a/./b', pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path with /../', raw: path({ path: '/a/../b', pathType: 'Exact', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path with %2F', raw: path({ path: '/a%2Fb', pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path with %2f', raw: path({ path: '/a%2fb', pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path ending in /..', raw: path({ path: '/a/..', pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path ending in /.', raw: path({ path: '/a/.', pathType: 'Exact', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'ImplementationSpecific relative path', raw: path({ path: 'a', pathType: 'ImplementationSpecific', backend }), expect: [[`${P}.path`, 'field-invalid']] },
  { name: 'path not a string', raw: path({ path: 5, pathType: 'Prefix', backend }), expect: [[`${P}.path`, 'field-invalid-type']] },
  // backends
  { name: 'backend missing', raw: path({ path: '/', pathType: 'Prefix' }), expect: [[`${P}.backend`, 'field-required']] },
  { name: 'empty backend', raw: path({ path: '/', pathType: 'Prefix', backend: {} }), expect: [[`${P}.backend`, 'field-required']] },
  {
    name: 'service and resource both set',
    raw: path({ path: '/', pathType: 'Prefix', backend: { ...backend, resource: { kind: 'Bucket', name: 'b' } } }),
    expect: [[`${P}.backend`, 'field-invalid']],
  },
  { name: 'service name not DNS-1035', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: '9web', port: { number: 80 } } } }), expect: [[`${P}.backend.service.name`, 'field-invalid']] },
  { name: 'service name missing', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { port: { number: 80 } } } }), expect: [[`${P}.backend.service.name`, 'field-required']] },
  { name: 'service port missing', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web' } } }), expect: [[`${P}.backend.service.port`, 'field-required']] },
  { name: 'port with neither number nor name', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: {} } } }), expect: [[`${P}.backend.service.port`, 'field-required']] },
  {
    name: 'port with both number and name',
    raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80, name: 'http' } } } }),
    expect: [[`${P}.backend.service.port`, 'field-invalid']],
  },
  { name: 'port number 0', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 0 } } } }), expect: [[`${P}.backend.service.port.number`, 'field-invalid']] },
  { name: 'port number 65536', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 65536 } } } }), expect: [[`${P}.backend.service.port.number`, 'field-invalid']] },
  { name: 'port number as a string', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: '80' } } } }), expect: [[`${P}.backend.service.port.number`, 'field-invalid-type']] },
  { name: 'port name too long', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'a-very-long-port-name' } } } }), expect: [[`${P}.backend.service.port.name`, 'field-invalid']] },
  { name: 'port name without a letter', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: '8080' } } } }), expect: [[`${P}.backend.service.port.name`, 'field-invalid']] },
  { name: 'port name with --', raw: path({ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'a--b' } } } }), expect: [[`${P}.backend.service.port.name`, 'field-invalid']] },
  { name: 'resource without kind', raw: ingress({ defaultBackend: { resource: { name: 'b' } } }), expect: [['spec.defaultBackend.resource.kind', 'field-required']] },
  // IngressClass
  { name: 'IngressClass without controller', raw: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' }, spec: {} }, expect: [['spec.controller', 'field-required']] },
  { name: 'IngressClass controller with spaces', raw: { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' }, spec: { controller: 'a b' } }, expect: [['spec.controller', 'field-invalid']] },
  // Service
  { name: 'Service type unknown', raw: svc({ type: 'Ingress', ports: [{ port: 80 }] }), expect: [['spec.type', 'field-not-supported']] },
  { name: 'Service without ports', raw: svc({}), expect: [['spec.ports', 'field-required']] },
  { name: 'Service port missing', raw: svc({ ports: [{ name: 'http' }] }), expect: [['spec.ports[0].port', 'field-required']] },
  { name: 'Service port out of range', raw: svc({ ports: [{ port: 70000 }] }), expect: [['spec.ports[0].port', 'field-invalid']] },
  { name: 'Service port names required with two ports', raw: svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), expect: [['spec.ports[1].name', 'field-required']] },
  { name: 'Service duplicate port names', raw: svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), expect: [['spec.ports[1].name', 'field-duplicate']] },
  { name: 'Service duplicate port and protocol', raw: svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), expect: [['spec.ports[1]', 'field-duplicate']] },
  { name: 'Service protocol unknown', raw: svc({ ports: [{ port: 80, protocol: 'HTTP' }] }), expect: [['spec.ports[0].protocol', 'field-not-supported']] },
  { name: 'Service targetPort invalid name', raw: svc({ ports: [{ port: 80, targetPort: '8080' }] }), expect: [['spec.ports[0].targetPort', 'field-invalid']] },
  { name: 'Service targetPort wrong type', raw: svc({ ports: [{ port: 80, targetPort: true }] }), expect: [['spec.ports[0].targetPort', 'field-invalid-type']] },
  { name: 'Service clusterIP not an IP', raw: svc({ clusterIP: '10.0.0.300', ports: [{ port: 80 }] }), expect: [['spec.clusterIP', 'field-invalid']] },
  { name: 'Service clusterIPs item not an IP', raw: svc({ clusterIPs: ['10.0.0.1', 'x'], ports: [{ port: 80 }] }), expect: [['spec.clusterIPs[1]', 'field-invalid']] },
  { name: 'Service externalIPs not a list', raw: svc({ externalIPs: '1.2.3.4', ports: [{ port: 80 }] }), expect: [['spec.externalIPs', 'field-invalid-type']] },
  { name: 'Service externalIP "None"', raw: svc({ externalIPs: ['None'], ports: [{ port: 80 }] }), expect: [['spec.externalIPs[0]', 'field-invalid']] },
  { name: 'ExternalName without externalName', raw: svc({ type: 'ExternalName' }), expect: [['spec.externalName', 'field-required']] },
  // EndpointSlice
  { name: 'EndpointSlice addressType missing', raw: { ...slice({}), addressType: undefined }, expect: [['addressType', 'field-required']] },
  { name: 'EndpointSlice addressType unknown', raw: slice({ addressType: 'IPv5' }), expect: [['addressType', 'field-not-supported']] },
  { name: 'endpoint without addresses', raw: slice({ endpoints: [{ addresses: [] }] }), expect: [['endpoints[0].addresses', 'field-required']] },
  { name: 'endpoint IPv4 with leading zero', raw: slice({ endpoints: [{ addresses: ['10.0.0.01'] }] }), expect: [['endpoints[0].addresses[0]', 'field-invalid']] },
  { name: 'endpoint IPv4 out of range', raw: slice({ endpoints: [{ addresses: ['10.0.0.1', '256.1.1.1'] }] }), expect: [['endpoints[0].addresses[1]', 'field-invalid']] },
  { name: 'IPv6 address in an IPv4 slice', raw: slice({ endpoints: [{ addresses: ['fd00::1'] }] }), expect: [['endpoints[0].addresses[0]', 'field-invalid']] },
  { name: 'IPv6 too many groups', raw: slice({ addressType: 'IPv6', endpoints: [{ addresses: ['1:2:3:4:5:6:7:8:9'] }] }), expect: [['endpoints[0].addresses[0]', 'field-invalid']] },
  { name: 'IPv6 two ::', raw: slice({ addressType: 'IPv6', endpoints: [{ addresses: ['1::2::3'] }] }), expect: [['endpoints[0].addresses[0]', 'field-invalid']] },
  { name: 'IPv6 with zone', raw: slice({ addressType: 'IPv6', endpoints: [{ addresses: ['fe80::1%eth0'] }] }), expect: [['endpoints[0].addresses[0]', 'field-invalid']] },
  { name: 'condition not a boolean', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: 'true' } }] }), expect: [['endpoints[0].conditions.ready', 'field-invalid-type']] },
  { name: 'zone hint without name', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], hints: { forZones: [{}] } }] }), expect: [['endpoints[0].hints.forZones[0].name', 'field-required']] },
  { name: 'zone hint not a label value', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], hints: { forZones: [{ name: 'a b' }] } }] }), expect: [['endpoints[0].hints.forZones[0].name', 'field-invalid']] },
  { name: 'zone hint duplicate', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], hints: { forZones: [{ name: 'a' }, { name: 'a' }] } }] }), expect: [['endpoints[0].hints.forZones[1].name', 'field-duplicate']] },
  { name: 'zone hints over 8', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], hints: { forZones: Array.from({ length: 9 }, (_, i) => ({ name: `z${i}` })) } }] }), expect: [['endpoints[0].hints.forZones', 'field-too-many']] },
  { name: 'zone hints not a list', raw: slice({ endpoints: [{ addresses: ['10.0.0.1'], hints: { forZones: 'a' } }] }), expect: [['endpoints[0].hints.forZones', 'field-invalid-type']] },
  { name: 'slice port out of range', raw: slice({ ports: [{ port: 0 }] }), expect: [['ports[0].port', 'field-invalid']] },
  { name: 'slice duplicate port names', raw: slice({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }), expect: [['ports[1].name', 'field-duplicate']] },
  // Secret
  { name: 'invalid base64', raw: secret({ data: { 'tls.crt': 'not base64!' } }), expect: [['data["tls.crt"]', 'field-invalid']] },
  { name: 'base64 without padding', raw: secret({ data: { a: 'YWI' } }), expect: [['data["a"]', 'field-invalid']] },
  { name: 'data value not a string', raw: secret({ data: { a: 1 } }), expect: [['data["a"]', 'field-invalid-type']] },
  { name: 'data key with a slash', raw: secret({ data: { 'a/b': '' } }), expect: [['data["a/b"]', 'field-invalid']] },
  { name: 'stringData value not a string', raw: secret({ stringData: { a: {} } }), expect: [['stringData["a"]', 'field-invalid-type']] },
  { name: 'TLS Secret without key', raw: secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': '' } }), expect: [['data["tls.key"]', 'field-required']] },
];

describe('decodeObject: each invalid field is reported at its exact path', () => {
  for (const c of badCases) {
    test(c.name, () => assert.deepEqual(problemsOf(decodeObject(c.raw)), c.expect));
  }
});

describe('decodeObject: behaviour', () => {
  test('collects every problem of an object', () => {
    const raw = ingress(
      {
        rules: [
          rule([{ path: '/ok', pathType: 'Prefix', backend }, { path: '/x', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 99999 } } } }], 'UPPER.example.com'),
        ],
      },
      { name: 'web', annotations: { a: false } },
    );
    assert.deepEqual(problemsOf(decodeObject(raw)), [
      ['metadata.annotations["a"]', 'field-invalid-type'],
      ['spec.rules[0].host', 'field-invalid'],
      ['spec.rules[0].http.paths[1].backend.service.port.number', 'field-invalid'],
    ]);
  });

  test('an invalid object still carries its key', () => {
    const result = decodeObject(ingress({}, { name: 'web', namespace: 'shop' }));
    assert.equal(result.ok, false);
    assert.deepEqual(result.ok === false && result.key, { kind: 'Ingress', namespace: 'shop', name: 'web' });
  });

  test('messages are specific', () => {
    const host = decodeObject(ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], '10.1.2.3')] }));
    assert.match(host.ok === false ? (host.problems[0]?.message ?? '') : '', /must be a DNS name, not an IP address/);
    const upper = decodeObject(ingress({ rules: [rule([{ path: '/', pathType: 'Prefix', backend }], 'A.com')] }));
    assert.match(upper.ok === false ? (upper.problems[0]?.message ?? '') : '', /lowercase/);
    const either = decodeObject(ingress({}));
    assert.match(either.ok === false ? (either.problems[0]?.message ?? '') : '', /either `defaultBackend` or `rules` must be specified/);
  });

  test('other kinds are ignored, whatever their apiVersion', () => {
    for (const raw of [
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } },
      { kind: 'ConfigMap', metadata: { name: 'x' } },
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } },
      // A Knative Service is not a core Service.
      { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'x' } },
    ]) {
      assert.equal(decodeObject(raw).ok, 'ignored', JSON.stringify(raw));
    }
  });

  test('"__proto__" and "constructor" keys are plain data', () => {
    const raw = JSON.parse(
      '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","annotations":{"constructor":"y","hasOwnProperty":"z"}},"data":{"__proto__":"YQ=="}}',
    ) as unknown;
    const s = okObject<Secret>(raw);
    assert.equal(Object.getPrototypeOf(s.metadata.annotations), null);
    assert.equal(Object.getPrototypeOf(s.data), null);
    assert.deepEqual(Object.keys(s.metadata.annotations), ['constructor', 'hasOwnProperty']);
    assert.equal(s.metadata.annotations['constructor'], 'y');
    assert.equal(s.metadata.labels['constructor'], undefined, 'no inherited Object members');
    assert.deepEqual(Object.keys(s.data), ['__proto__']);
    assert.deepEqual(s.data['__proto__'], new Uint8Array([97]));
  });

  test('a "__proto__" annotation is an invalid key, not a prototype', () => {
    const raw = JSON.parse('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","annotations":{"__proto__":{"polluted":"yes"}}}}') as unknown;
    assert.deepEqual(problemsOf(decodeObject(raw)), [['metadata.annotations["__proto__"]', 'field-invalid-type']]);
    const raw2 = JSON.parse('{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s","annotations":{"__proto__":"x"}}}') as unknown;
    assert.deepEqual(problemsOf(decodeObject(raw2)), [['metadata.annotations["__proto__"]', 'field-invalid']]);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype untouched');
  });

  test('an inherited property name is never read as a field', () => {
    const raw = Object.create({ spec: { defaultBackend: backend } }) as Raw;
    Object.assign(raw, { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'x' } });
    assert.equal(decodeObject(raw).ok, false);
  });
});

describe('decodeDocument', () => {
  test('a single object', () => {
    const items = decodeDocument(secret({}));
    assert.equal(items.length, 1);
    assert.equal(items[0]?.index, undefined);
    assert.equal(items[0]?.result.ok, true);
  });

  test('List items are decoded one by one with their own paths', () => {
    const items = decodeDocument({
      apiVersion: 'v1',
      kind: 'List',
      items: [secret({}), { apiVersion: 'apps/v1', kind: 'Deployment' }, ingress({ rules: [rule([{ path: 'x', pathType: 'Exact', backend }])] })],
    });
    assert.deepEqual(items.map((i) => [i.index, i.result.ok]), [[0, true], [1, 'ignored'], [2, false]]);
    assert.deepEqual(problemsOf(items[2]!.result), [['items[2].spec.rules[0].http.paths[0].path', 'field-invalid']]);
  });

  test('typed lists fill in kind and apiVersion of their items', () => {
    const items = decodeDocument({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressList', items: [{ metadata: { name: 'a' }, spec: { defaultBackend: backend } }] });
    assert.equal(items[0]?.result.ok, true);
    assert.equal(items[0]?.result.ok === true && items[0].result.object.kind, 'Ingress');
  });

  test('a List whose items is not a list, and nested Lists', () => {
    assert.deepEqual(problemsOf(decodeDocument({ apiVersion: 'v1', kind: 'List', items: {} })[0]!.result), [['items', 'field-invalid-type']]);
    const nested = decodeDocument({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'List', items: [] }] });
    assert.deepEqual(problemsOf(nested[0]!.result), [['items[0].kind', 'field-not-supported']]);
    assert.deepEqual(decodeDocument({ apiVersion: 'v1', kind: 'List' }), []);
  });
});
