// Property-based fuzz of decode + translate (issue 7, part 7): random and
// malformed objects, as the API server or a manifests file could deliver
// them (wrong types, absurd sizes, unicode and punycode hosts, regex-looking
// paths, Secrets with broken PEM and base64, EndpointSlices with odd
// addresses and ports), never crash the controller, never stall it, and never
// change the routes of other objects.
//
// Every run decodes the raw values with the same gate as the sources
// (decodeDocument: single objects and Lists), keeps one object per key as the
// store does, and translates. Properties:
//  (a) decode and translate never throw;
//  (b) each decode+translate finishes within STALL_MS (a stall guard, not a
//      speed assertion);
//  (c) isolation: a fixed, valid witness (Ingress + Service + EndpointSlice +
//      TLS Secret in namespace "witness", host witness.isolation.test) gets
//      exactly the same virtual host, clusters, TLS host and certificate with
//      the random objects beside it as alone. Random objects live in other
//      namespaces; one that names the witness host in a rule is made younger
//      than the witness (an older one would own the host legitimately);
//  (d) determinism: the same objects, in any order, give the same result.
//
// FUZZ_RUNS (default 150) and FUZZ_SEED (default fixed) allow longer runs;
// FUZZ_DEBUG=1 prints what the random objects reached (decoded kinds, routes,
// diagnostic codes):
//   FUZZ_RUNS=5000 FUZZ_SEED=$RANDOM node_modules/.bin/node --test src/translate/translate.fuzz.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { decodeDocument } from '../k8s/decode.ts';
import { keyOf, keyString } from '../k8s/keys.ts';
import type { KubeObject } from '../k8s/objects.ts';
import type { RoutingModel } from '../model/model.ts';
import { issueCertificate } from '../shared/pki/certificate.ts';
import { ANNOTATION } from './annotations.ts';
import { DEFAULT_TRANSLATE_OPTIONS, type TranslateOptions } from './options.ts';
import { buildSnapshot } from './snapshot.ts';
import { translate, type TranslateResult } from './translate.ts';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? '150');
const SEED = Number(process.env['FUZZ_SEED'] ?? '20260707');
const STALL_MS = 2000;
const NOW = Date.parse('2026-06-01T00:00:00Z');

// ---------------------------------------------------------------- witness

const WITNESS_NS = 'witness';
const WITNESS_HOST = 'witness.isolation.test';
const WITNESS_CREATED = '2030-01-01T00:00:00Z';
const YOUNGER_THAN_WITNESS = '2031-01-01T00:00:00Z';

const b64 = (s: string | Uint8Array): string => Buffer.from(s).toString('base64');

const witnessCert = issueCertificate({
  commonName: WITNESS_HOST,
  dnsNames: [WITNESS_HOST],
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2126-01-01T00:00:00Z'),
});
const otherCert = issueCertificate({
  commonName: 'other.example',
  dnsNames: ['other.example', '*.isolation.test', WITNESS_HOST],
  notBefore: new Date('2026-01-01T00:00:00Z'),
  notAfter: new Date('2126-01-01T00:00:00Z'),
});

const witnessRaw: unknown[] = [
  {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
    metadata: { name: 'app', namespace: WITNESS_NS, creationTimestamp: WITNESS_CREATED, annotations: { 'nginx.ingress.kubernetes.io/load-balance': 'ewma' } },
    spec: {
      defaultBackend: { service: { name: 'app', port: { name: 'http' } } },
      tls: [{ hosts: [WITNESS_HOST], secretName: 'app-tls' }],
      rules: [{
        host: WITNESS_HOST,
        http: { paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } },
          { path: '/exact', pathType: 'Exact', backend: { service: { name: 'app', port: { name: 'http' } } } },
          { path: '/api/', pathType: 'ImplementationSpecific', backend: { service: { name: 'api', port: { number: 8443 } } } },
        ] },
      }],
    },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app', namespace: WITNESS_NS }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace: WITNESS_NS }, spec: { ports: [{ name: 'https', port: 8443, targetPort: 'https', appProtocol: 'https' }] } },
  {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'app-1', namespace: WITNESS_NS, labels: { 'kubernetes.io/service-name': 'app' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.9.0.1'], conditions: { ready: true } }, { addresses: ['10.9.0.2'], conditions: { ready: false, serving: true, terminating: true } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  },
  {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: 'api-1', namespace: WITNESS_NS, labels: { 'kubernetes.io/service-name': 'api' } },
    addressType: 'IPv6',
    endpoints: [{ addresses: ['fd00::9'], zone: 'z1' }],
    ports: [{ name: 'https', port: 9443 }],
  },
  {
    apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
    metadata: { name: 'app-tls', namespace: WITNESS_NS },
    data: { 'tls.crt': b64(witnessCert.certPem), 'tls.key': b64(witnessCert.keyPem) },
  },
];

// ---------------------------------------------------------------- value pools
//
// Objects are mostly valid, so they get past decoding and exercise
// translation; each field is sometimes an invalid value, a huge one or a
// value of the wrong type, and a third of the documents get one node
// replaced by random JSON (mutate below).

const BIG = 200_000;
const huge = {
  label: 'a'.repeat(BIG),
  dots: 'a.'.repeat(BIG / 2),
  dashes: `a${'-'.repeat(BIG)}!`,
  pemBombBegin: '-----BEGIN CERTIFICATE-----'.repeat(Math.floor(BIG / 27)),
  pemBombBeginNewlines: '-----BEGIN CERTIFICATE-----\n'.repeat(Math.floor(BIG / 28)),
  pemNoEnd: `-----BEGIN CERTIFICATE-----\n${'A'.repeat(BIG)}`,
  keyBombBegin: '-----BEGIN PRIVATE KEY-----\n'.repeat(Math.floor(BIG / 28)),
  unicode: '\u{1F600}'.repeat(BIG / 4),
  path: `/${'a/'.repeat(BIG / 2)}`,
  regexBomb: `/${'(a+)+'.repeat(1000)}$`,
};

/** A random JSON value of bounded size: the "wrong type" of any field. */
const anyJson = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, 1e308, -0, '', [], {}, 'null', '0', '[]'),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Mostly a value from `valid`; sometimes from `invalid`, a random string or a huge one. */
function pick<T>(valid: readonly T[], invalid: readonly T[] = []): fc.Arbitrary<T | string> {
  const choices: { arbitrary: fc.Arbitrary<T | string>; weight: number }[] = [
    { arbitrary: fc.constantFrom(...valid), weight: 100 },
    { arbitrary: fc.oneof(fc.string({ maxLength: 10 }), fc.string({ unit: 'binary', maxLength: 10 })), weight: 1 },
    { arbitrary: fc.constantFrom(...Object.values(huge)), weight: 1 },
  ];
  if (invalid.length > 0) choices.push({ arbitrary: fc.constantFrom(...invalid), weight: 3 });
  return fc.oneof(...choices);
}

/** Rarely a value of the wrong type instead. */
function field<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.oneof({ arbitrary: arb, weight: 100 }, { arbitrary: anyJson, weight: 1 });
}

/** An optional field: absent (undefined, dropped by JSON) in about a third of the objects. */
function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | unknown> {
  return fc.option(field(arb), { nil: undefined, freq: 3 });
}

/** A field most objects leave out. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: arb, weight: 1 });
}

const NAMESPACES = ['team-a', 'team-a', 'team-a', 'team-b', 'default', 'isolation'];
const BAD_NAMESPACES = ['witness-2', 'a'.repeat(64), 'A', 'bad_ns', '-x', ''];
const NAMES = ['app', 'app', 'app', 'api', 'web', 'x'];
const BAD_NAMES = ['a.b', 'a'.repeat(254), 'Bad', '', '-a'];
const HOSTS = ['app.example.com', 'app.example.com', 'other.example', 'api.example.com', '*.example.com', '*.isolation.test', 'isolation.test', 'xwitness.isolation.test',
  `a.${WITNESS_HOST}`, 'xn--bcher-kva.example', 'xn--80ak6aa92e.com', `${'a'.repeat(63)}.test`, WITNESS_HOST];
const BAD_HOSTS = [
  '*', '*.', '*.*.example.com', 'a*.example.com', 'bücher.example', 'ПРИМЕР.рф', 'WITNESS.isolation.test', `${WITNESS_HOST}.`,
  `${WITNESS_HOST}:443`, '10.0.0.1', '[::1]', '::1', `${'a'.repeat(64)}.test`, ' app.example.com', 'app.example.com\n', 'app..example.com',
  '.example.com', '-a.example.com', 'a_b.example.com', '%77itness.isolation.test',
];
const PATHS = ['/', '/api', '/api/', '/api//v1', '/.*', '/(a|b)+', '/[a-z]+$', '/admin(/|$)(.*)', '/~user', '/%2F', '/%2e%2e/', '/a/../b',
  '//', '/a;b', '/ü', '/*', '/{id}', '/$1', '/a b', '/\\', huge.path, huge.regexBomb];
const BAD_PATHS = ['relative', '', '^/admin', '/a?b=c', '/a#b', '/\u0000', '/\r\n', '\\'];
const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'];
const ANNOTATION_NAMES = [...Object.values(ANNOTATION).flat(), 'kubernetes.io/ingress.class'];
const ANNOTATION_VALUES = [
  'true', 'false', 'TRUE', '1', '0', '-1', '99999999999', '1e3', 'NaN', '30s', '5m', '0ms', 'off', 'on', 'HTTPS', 'GRPC', 'GRPCS', 'h2c',
  'AJP', 'round_robin', 'ewma', 'least_request', 'least_conn', '$request_uri', '$http_x_user', '$host', '${request_uri}', 'cookie',
  'balanced', 'persistent', 'None', 'Strict', '/', '/healthz', 'error timeout', 'http_502 non_idempotent', 'app-tls', 'other/app-tls',
  '../secret', 'maglev', 'ring', '100', '101', '50%', ' ', '\n', 'martello', 'nginx', 'a'.repeat(1000),
];
const IPV4 = ['10.0.0.1', '10.0.0.2', '192.168.1.1', '127.0.0.1', '169.254.169.254', '0.0.0.0', '255.255.255.255'];
const IPV6 = ['fd00::1', '::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::', '2001:db8::1'];
const BAD_ADDRESSES = ['1.2.3', '1.2.3.4.5', '01.02.03.04', '127.1', '2001:db8::1%eth0', 'example.com', '', 'not an ip', '10.0.0.1:80', '[fd00::1]'];
const PORTS = [80, 80, 80, 80, 443, 8080, 1, 65535];
const BAD_PORTS: unknown[] = [0, -1, 65536, 1.5, 1e21, '80', null];
const TIMESTAMPS = ['2020-01-01T00:00:00Z', '2029-12-31T23:59:59Z', WITNESS_CREATED, '2035-01-01T00:00:00Z', '2025-06-01T00:00:00.123456+02:00'];
const BAD_TIMESTAMPS = ['yesterday', '2025-13-01T00:00:00Z', '2025-01-01'];

const PEMS = [otherCert.certPem, otherCert.chainPem, witnessCert.certPem];
const BAD_PEMS = [
  '', 'garbage', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----',
  `-----BEGIN CERTIFICATE-----\n${b64('not der')}\n-----END CERTIFICATE-----\n`, otherCert.certPem.slice(0, 200),
  otherCert.certPem.replace(/A/g, 'B'), `${otherCert.certPem}${'-----BEGIN CERTIFICATE-----\n'.repeat(50)}`,
  huge.pemBombBegin, huge.pemBombBeginNewlines, huge.pemNoEnd,
];
const KEYS = [otherCert.keyPem, witnessCert.keyPem];
const BAD_KEYS = [
  '', 'garbage', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', otherCert.keyPem.slice(0, 100), huge.pemNoEnd, huge.keyBombBegin,
  '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n',
];

function metadata(extra: Record<string, fc.Arbitrary<unknown>> = {}, names: readonly string[] = NAMES): fc.Arbitrary<unknown> {
  return field(fc.record({
    name: field(pick(names, BAD_NAMES)),
    namespace: optional(pick(NAMESPACES, BAD_NAMESPACES)),
    creationTimestamp: optional(pick(TIMESTAMPS, BAD_TIMESTAMPS)),
    annotations: optional(fc.dictionary(pick(ANNOTATION_NAMES, ['Bad Key', '']), pick(ANNOTATION_VALUES), { maxKeys: 4 })),
    ...extra,
  }));
}

const backend = field(fc.oneof(
  { arbitrary: fc.record({ service: field(fc.record({
    name: field(pick(NAMES, ['missing', ''])),
    port: field(fc.oneof(fc.record({ number: field(pick<unknown>(PORTS, BAD_PORTS)) }), fc.record({ name: field(pick(['http', 'https', 'grpc'], ['HTTP', ''])) }))),
  })) }), weight: 20 },
  { arbitrary: fc.record({ resource: fc.record({ apiGroup: fc.constantFrom('k8s.example.com', ''), kind: fc.constantFrom('StorageBucket', 'Service'), name: pick(NAMES) }) }), weight: 1 },
  { arbitrary: fc.constant({}), weight: 1 },
));

const ingressPath = field(fc.record({ path: fc.option(field(pick(PATHS, BAD_PATHS)), { nil: undefined, freq: 10 }), pathType: field(pick(PATH_TYPES, ['Regex', 'prefix', ''])), backend }));

const ingress = fc.record({
  apiVersion: pick(['networking.k8s.io/v1'], ['networking.k8s.io/v1beta1', 'extensions/v1beta1']),
  kind: fc.constant('Ingress'),
  metadata: metadata(),
  spec: field(fc.record({
    ingressClassName: rarely(pick(['martello', 'nginx'], ['Martello', ''])),
    defaultBackend: fc.option(backend, { nil: undefined, freq: 2 }),
    tls: optional(fc.array(field(fc.record({
      hosts: optional(fc.array(pick(HOSTS, BAD_HOSTS), { maxLength: 3 })),
      secretName: optional(pick(['app-tls', 'tls', 'missing'], ['', 'other/app-tls'])),
    })), { maxLength: 2 })),
    rules: field(fc.array(field(fc.record({
      host: fc.option(field(pick(HOSTS, BAD_HOSTS)), { nil: undefined, freq: 6 }),
      http: fc.option(field(fc.record({ paths: field(fc.array(ingressPath, { minLength: 1, maxLength: 4 })) })), { nil: undefined, freq: 10 }),
    })), { minLength: 1, maxLength: 3 })),
  })),
});

const servicePort = field(fc.record({
  name: optional(pick(['http', 'https', 'grpc', 'h2c'], ['', 'HTTP'])),
  port: field(pick<unknown>(PORTS, BAD_PORTS)),
  targetPort: optional(pick<unknown>([...PORTS, 'http', 'https'], [...BAD_PORTS, 'a--b', 'toolongportname'])),
  protocol: optional(pick(['TCP', 'UDP', 'SCTP'], ['tcp'])),
  appProtocol: optional(pick(['http', 'https', 'h2c', 'kubernetes.io/h2c', 'grpc', 'kubernetes.io/ws'], ['bad value'])),
}));

const service = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Service'),
  metadata: metadata(),
  spec: field(fc.record({
    type: optional(pick(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], ['Headless', ''])),
    externalName: optional(pick(['example.com', 'localhost', '127.0.0.1.nip.io', WITNESS_HOST], [''])),
    clusterIP: optional(pick(['None', '10.96.0.1'], ['', 'x'])),
    ports: field(fc.oneof({ arbitrary: fc.array(servicePort, { minLength: 1, maxLength: 1 }), weight: 4 }, { arbitrary: fc.array(servicePort, { maxLength: 3 }), weight: 1 })),
  })),
});

const endpoint = (addresses: readonly string[]) => field(fc.record({
  addresses: field(fc.array(pick(addresses, BAD_ADDRESSES), { minLength: 1, maxLength: 3 })),
  conditions: optional(fc.record({ ready: optional(fc.boolean()), serving: optional(fc.boolean()), terminating: optional(fc.boolean()) })),
  zone: optional(pick(['z1', 'z2'], [''])),
  nodeName: optional(pick(['node-1'], ['Node_1', ''])),
  hints: rarely(field(fc.record({ forZones: field(fc.array(field(fc.record({ name: field(pick(['z1', 'z2', 'z3'], [''])) })), { maxLength: 2 })) }))),
}));

const endpointSlice = fc.constantFrom('IPv4', 'IPv6', 'FQDN').chain((addressType) => fc.record({
  apiVersion: fc.constant('discovery.k8s.io/v1'),
  kind: fc.constant('EndpointSlice'),
  metadata: metadata({ labels: field(fc.record({ 'kubernetes.io/service-name': field(pick(NAMES, [''])) })) }),
  addressType: field(pick([addressType], ['ipv4', ''])),
  endpoints: field(fc.array(endpoint(addressType === 'IPv4' ? IPV4 : addressType === 'IPv6' ? IPV6 : ['example.com', 'a.b.c']), { maxLength: 4 })),
  ports: field(fc.array(field(fc.record({
    name: optional(pick(['http', 'https', 'grpc', 'h2c'], ['HTTP'])),
    port: optional(pick<unknown>([...PORTS, 8443, 9000], BAD_PORTS)),
    protocol: optional(pick(['TCP', 'UDP', 'SCTP'], ['tcp'])),
    appProtocol: optional(pick(['http', 'kubernetes.io/h2c'], ['bad value'])),
  })), { maxLength: 3 })),
}));

/** Secret data values: base64 of PEM (good, broken, huge), or not base64 at all. */
const pemValue = (good: readonly string[], bad: readonly string[]) => fc.oneof(
  { arbitrary: fc.constantFrom(...good).map((pem) => b64(pem)), weight: 8 },
  { arbitrary: fc.constantFrom(...bad).map((pem) => b64(pem)), weight: 4 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => b64(bytes)), weight: 1 },
  { arbitrary: fc.constantFrom('not base64!', 'QQ', 'QQ=', 'Q Q==', '====', `${b64(otherCert.certPem)}\n`, b64(otherCert.certPem).replace(/.{76}/g, '$&\r\n')), weight: 1 },
  { arbitrary: anyJson, weight: 1 },
);

const secret = fc.record({
  apiVersion: fc.constant('v1'),
  kind: fc.constant('Secret'),
  metadata: metadata({}, ['app-tls', 'app-tls', 'tls', 'app']),
  type: optional(pick(['kubernetes.io/tls'], ['Opaque', 'kubernetes.io/TLS', ''])),
  data: field(fc.record({ 'tls.crt': pemValue(PEMS, BAD_PEMS), 'tls.key': pemValue(KEYS, BAD_KEYS), 'ca.crt': fc.option(pemValue(PEMS, BAD_PEMS), { nil: undefined }) })),
  stringData: rarely(fc.record({ 'tls.crt': fc.constantFrom(...PEMS, ...BAD_PEMS), 'tls.key': fc.constantFrom(...KEYS, ...BAD_KEYS) }, { requiredKeys: [] })),
});

const ingressClass = fc.record({
  apiVersion: fc.constant('networking.k8s.io/v1'),
  kind: fc.constant('IngressClass'),
  metadata: metadata({ annotations: optional(fc.record({ 'ingressclass.kubernetes.io/is-default-class': field(pick(['true', 'false'], ['yes'])) })) }),
  spec: field(fc.record({ controller: field(pick(['martello.dev/ingress-controller', 'k8s.io/ingress-nginx'], ['has space', ''])) })),
});

/** Replaces one node of `value` (the `node`-th, depth first) with `replacement`: malformed fields anywhere. */
function mutate(value: unknown, node: number, replacement: unknown): unknown {
  let n = node;
  const walk = (v: unknown): unknown => {
    if (n-- === 0) return replacement;
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

const object = fc.oneof(
  { arbitrary: ingress, weight: 5 },
  { arbitrary: service, weight: 3 },
  { arbitrary: endpointSlice, weight: 3 },
  { arbitrary: secret, weight: 2 },
  { arbitrary: ingressClass, weight: 1 },
  { arbitrary: fc.record({ apiVersion: fc.constantFrom('v1', 'apps/v1', 'serving.knative.dev/v1'), kind: fc.constantFrom('ConfigMap', 'Service', 'Deployment', 'IngressList', 'List') }), weight: 1 },
  { arbitrary: anyJson, weight: 1 },
);

/**
 * A coherent tenant: an Ingress, its Service, EndpointSlice and TLS Secret
 * in one namespace, as a List (the happy path, so routes with endpoints and
 * certificates occur), with random hosts, paths, PEM and addresses.
 */
const tenant = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  name: fc.constantFrom('app', 'api', 'web'),
  created: fc.option(fc.constantFrom(...TIMESTAMPS), { nil: undefined }),
  hosts: fc.array(pick(HOSTS, BAD_HOSTS), { minLength: 1, maxLength: 2 }),
  paths: fc.array(fc.record({ path: pick(PATHS, BAD_PATHS), pathType: pick(PATH_TYPES) }), { minLength: 1, maxLength: 3 }),
  crt: fc.oneof({ arbitrary: fc.constantFrom(...PEMS), weight: 3 }, { arbitrary: fc.constantFrom(...BAD_PEMS), weight: 2 }),
  key: fc.oneof({ arbitrary: fc.constantFrom(...KEYS), weight: 3 }, { arbitrary: fc.constantFrom(...BAD_KEYS), weight: 1 }),
  addresses: fc.array(pick(IPV4, BAD_ADDRESSES), { minLength: 1, maxLength: 3 }),
  ready: fc.option(fc.boolean(), { nil: undefined }),
  annotations: fc.dictionary(pick(ANNOTATION_NAMES), pick(ANNOTATION_VALUES), { maxKeys: 3 }),
}).map((t) => ({
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress',
      metadata: { name: t.name, namespace: t.namespace, creationTimestamp: t.created, annotations: t.annotations },
      spec: {
        tls: [{ hosts: t.hosts, secretName: `${t.name}-tls` }],
        rules: t.hosts.map((host) => ({ host, http: { paths: t.paths.map((p) => ({ ...p, backend: { service: { name: t.name, port: { number: 80 } } } })) } })),
      },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: t.name, namespace: t.namespace }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${t.name}-1`, namespace: t.namespace, labels: { 'kubernetes.io/service-name': t.name } },
      addressType: 'IPv4', endpoints: [{ addresses: t.addresses, conditions: { ready: t.ready } }], ports: [{ name: 'http', port: 8080 }],
    },
    { apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: `${t.name}-tls`, namespace: t.namespace }, data: { 'tls.crt': b64(t.crt), 'tls.key': b64(t.key) } },
  ],
}));

/** One document: a tenant or an object, either maybe with one node replaced, or a List of objects. */
const documentArb = fc.oneof(
  { arbitrary: tenant, weight: 3 },
  { arbitrary: fc.tuple(tenant, fc.nat({ max: 60 }), anyJson).map(([o, i, r]) => mutate(o, i, r)), weight: 1 },
  { arbitrary: object, weight: 8 },
  { arbitrary: fc.tuple(object, fc.nat({ max: 40 }), anyJson).map(([o, i, r]) => mutate(o, i, r)), weight: 3 },
  { arbitrary: fc.record({ apiVersion: fc.constant('v1'), kind: fc.constantFrom('List', 'IngressList', 'ServiceList'), items: field(fc.array(object, { maxLength: 3 })) }), weight: 1 },
);

const fuzzDocuments = fc.array(documentArb, { minLength: 2, maxLength: 16 }).map((docs) => docs.map(makeWitnessSafe));

/**
 * Random objects must not legitimately take the witness's host: they never
 * use the witness namespace, and an object naming the witness host is made
 * younger than the witness (an older Ingress of another namespace would own
 * the host by design, not by a bug).
 */
function makeWitnessSafe(doc: unknown): unknown {
  const text = JSON.stringify(doc) ?? '';
  if (!text.includes(`"${WITNESS_NS}"`) && !text.includes(WITNESS_HOST)) return doc;
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v !== 'object' || v === null) return v === WITNESS_NS ? 'not-witness' : v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x);
    const meta = out['metadata'];
    if (typeof meta === 'object' && meta !== null && !Array.isArray(meta) && JSON.stringify(v).includes(WITNESS_HOST)) {
      out['metadata'] = { ...meta, creationTimestamp: YOUNGER_THAN_WITNESS };
    }
    return out;
  };
  return walk(doc);
}

// ---------------------------------------------------------------- running

interface Run {
  readonly objects: readonly KubeObject[];
  readonly result: TranslateResult;
  readonly ms: number;
}

/** Decodes like a source, keeps one object per key like the store (first wins), translates. */
function decodeAndTranslate(docs: readonly unknown[], opts: TranslateOptions): Run {
  const start = performance.now();
  const unique = new Map<string, KubeObject>();
  for (const doc of docs) {
    for (const item of decodeDocument(doc)) {
      if (item.result.ok !== true) continue;
      const key = keyString(keyOf(item.result.object));
      if (!unique.has(key)) unique.set(key, item.result.object);
    }
  }
  const objects = [...unique.values()];
  const result = translate(buildSnapshot(objects), opts, { now: NOW });
  return { objects, result, ms: performance.now() - start };
}

/** What the witness gets from a model: its virtual host, the clusters that serves, its TLS host and certificate. */
function witnessView(model: RoutingModel): unknown {
  const vhost = model.virtualHosts.find((v) => v.host === WITNESS_HOST);
  const clusterIds = new Set([...(vhost?.routes.map((r) => r.target.cluster) ?? []), ...(vhost?.fallback ? [vhost.fallback.cluster] : [])]);
  const tlsHost = model.tlsHosts.find((h) => h.host === WITNESS_HOST);
  return {
    vhost,
    clusters: model.clusters.filter((c) => clusterIds.has(c.id)),
    tlsHost,
    certificate: model.certificates.find((c) => c.id === tlsHost?.certificate),
  };
}

const options = fc.record({
  hostSharing: fc.constantFrom<TranslateOptions['hostSharing']>('namespace', 'merge', undefined),
  watchIngressWithoutClass: fc.boolean(),
  allowLoopbackEndpoints: fc.boolean(),
  sslRedirect: fc.boolean(),
  defaultCertificate: fc.constantFrom(undefined, 'team-a/app-tls', 'default/missing'),
}).map((o): TranslateOptions => {
  const { defaultCertificate, ...rest } = o;
  return { ...DEFAULT_TRANSLATE_OPTIONS, ...rest, ...(defaultCertificate === undefined ? {} : { defaultCertificate }) };
});

const alone = decodeAndTranslate(witnessRaw, DEFAULT_TRANSLATE_OPTIONS);
const expectedWitness = witnessView(alone.result.model);

test('fuzz: the witness alone is served completely (the isolation baseline is meaningful)', () => {
  const view = witnessView(alone.result.model) as { vhost?: { routes: unknown[]; fallback: unknown }; clusters: { endpoints: unknown[] }[]; tlsHost?: { certificate: string | null } };
  assert.equal(view.vhost?.routes.length, 3);
  assert.notEqual(view.vhost?.fallback, null);
  assert.equal(view.clusters.length, 3);
  assert.ok(view.clusters.every((c) => c.endpoints.length > 0));
  assert.equal(view.tlsHost?.certificate, `${WITNESS_NS}/app-tls`);
  assert.deepEqual(alone.result.diagnostics, []);
});

test('fuzz: random and malformed objects never throw, never stall, and never change the witness', () => {
  fc.assert(
    fc.property(fuzzDocuments, fc.boolean(), (docs, witnessFirst) => {
      const all = witnessFirst ? [...witnessRaw, ...docs] : [...docs, ...witnessRaw];
      const run = decodeAndTranslate(all, DEFAULT_TRANSLATE_OPTIONS);
      coverage.record(run);
      assert.ok(run.ms < STALL_MS, `decode + translate took ${run.ms.toFixed(0)} ms`);
      assert.deepEqual(witnessView(run.result.model), expectedWitness);
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test('fuzz: any options, no crash, no stall, and the same objects in any order give the same result', () => {
  fc.assert(
    fc.property(fuzzDocuments, options, (docs, opts) => {
      const first = decodeAndTranslate(docs, opts);
      assert.ok(first.ms < STALL_MS, `decode + translate took ${first.ms.toFixed(0)} ms`);
      // The store's objects in another order, and once more in the same order (memoised certificates).
      const reversed = translate(buildSnapshot(first.objects.toReversed()), opts, { now: NOW });
      assert.deepEqual(comparable(reversed), comparable(first.result));
      const again = translate(buildSnapshot(first.objects), opts, { now: NOW });
      assert.deepEqual(comparable(again), comparable(first.result));
    }),
    { seed: SEED + 1, numRuns: Math.ceil(RUNS / 2) },
  );
});

/** What the random objects reached, so a generator that only produces rejected objects is noticed. */
class Coverage {
  readonly counts = new Map<string, number>();
  #add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  record(run: Run): void {
    for (const o of run.objects) if (o.metadata.namespace !== WITNESS_NS) this.#add(`decoded ${o.kind}`);
    const m = run.result.model;
    this.#add('virtual hosts', m.virtualHosts.filter((v) => v.host !== WITNESS_HOST).length);
    this.#add('routes', m.virtualHosts.filter((v) => v.host !== WITNESS_HOST).reduce((n, v) => n + v.routes.length, 0));
    this.#add('endpoints', m.clusters.filter((c) => c.namespace !== WITNESS_NS).reduce((n, c) => n + c.endpoints.length, 0));
    this.#add('certificates', m.certificates.filter((c) => !c.id.startsWith(`${WITNESS_NS}/`)).length);
    for (const d of run.result.diagnostics) this.#add(`diagnostic ${d.code}`);
  }
}
const coverage = new Coverage();

test('fuzz: the random objects reach every stage (decoded, routed, endpoints, certificates, refusals)', () => {
  if (process.env['FUZZ_DEBUG'] === '1') console.log([...coverage.counts].sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
  if (RUNS < 100) return;
  for (const key of ['decoded Ingress', 'decoded Service', 'decoded EndpointSlice', 'decoded Secret', 'virtual hosts', 'routes', 'endpoints', 'certificates',
    'diagnostic host-owned-by-other-namespace', 'diagnostic tls-certificate-invalid', 'diagnostic route-conflict']) {
    assert.ok((coverage.counts.get(key) ?? 0) > 0, `no run reached "${key}": the generators need a look`);
  }
});

/** The result as plain data (Sets of references as sorted lists). */
function comparable(r: TranslateResult): unknown {
  return {
    model: r.model,
    statuses: r.statuses,
    diagnostics: r.diagnostics,
    references: { services: [...r.references.services].sort(), secrets: [...r.references.secrets].sort() },
  };
}
