import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeObject } from '../../k8s/decode.ts';
import type { Service } from '../../k8s/objects.ts';
import { addressEntry, entriesKey, normalizeEntries, parsePublishService, parseStatusAddresses, sameEntries, serviceAddresses } from './publish-address.ts';

function service(spec: Record<string, unknown>, status?: unknown): Service {
  const result = decodeObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'martello', namespace: 'ingress' }, spec: { ports: [{ port: 80 }], ...spec }, status });
  assert.equal(result.ok, true, JSON.stringify(result));
  return (result as { object: Service }).object;
}

describe('--publish-status-address', () => {
  test('IPs go in ip, DNS names in hostname; sorted and de-duplicated', () => {
    const parsed = parseStatusAddresses('lb.example.com, 203.0.113.10,2001:db8::1,LB.Example.com.,203.0.113.10,,10.0.0.2');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.entries, [{ ip: '10.0.0.2' }, { ip: '2001:db8::1' }, { ip: '203.0.113.10' }, { hostname: 'lb.example.com' }]);
  });

  test('anything else is refused with a message', () => {
    const parsed = parseStatusAddresses('ok.example.com,not a host,10.0.0.256,-bad.example.com');
    assert.deepEqual(parsed.entries, [{ hostname: 'ok.example.com' }]);
    assert.equal(parsed.problems.length, 3);
    assert.match(parsed.problems[0]!, /"not a host" is neither an IP address nor a DNS name/);
    assert.equal(typeof addressEntry(''), 'string');
  });

  test('empty list publishes nothing', () => {
    assert.deepEqual(parseStatusAddresses(''), { entries: [], problems: [] });
  });
});

describe('--publish-service', () => {
  test('NS/NAME', () => {
    assert.deepEqual(parsePublishService('ingress/martello'), { namespace: 'ingress', name: 'martello' });
    assert.equal(typeof parsePublishService('martello'), 'string');
    assert.equal(typeof parsePublishService('a/b/c'), 'string');
    assert.equal(typeof parsePublishService('Ingress/martello'), 'string');
  });

  test('LoadBalancer: its status, ip and hostname only', () => {
    const svc = service(
      { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['198.51.100.7'] },
      { loadBalancer: { ingress: [{ hostname: 'a1.elb.example.com', ports: [{ port: 80, protocol: 'TCP' }] }, { ip: '203.0.113.10' }] } },
    );
    assert.deepEqual(serviceAddresses(svc).entries, [{ ip: '203.0.113.10' }, { hostname: 'a1.elb.example.com' }]);
  });

  test('LoadBalancer still pending: externalIPs, else nothing (never the cluster IP)', () => {
    assert.deepEqual(serviceAddresses(service({ type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['198.51.100.7'] })).entries, [{ ip: '198.51.100.7' }]);
    assert.deepEqual(serviceAddresses(service({ type: 'LoadBalancer', clusterIP: '10.96.0.10' })).entries, []);
  });

  test('ClusterIP and NodePort: externalIPs first, else clusterIPs, else clusterIP', () => {
    assert.deepEqual(serviceAddresses(service({ type: 'NodePort', clusterIP: '10.96.0.10', externalIPs: ['198.51.100.8', '198.51.100.7'] })).entries, [
      { ip: '198.51.100.7' },
      { ip: '198.51.100.8' },
    ]);
    assert.deepEqual(serviceAddresses(service({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00::a'] })).entries, [{ ip: '10.96.0.10' }, { ip: 'fd00::a' }]);
    assert.deepEqual(serviceAddresses(service({ type: 'NodePort', clusterIP: '10.96.0.11' })).entries, [{ ip: '10.96.0.11' }]);
  });

  test('headless and unallocated Services publish nothing', () => {
    assert.deepEqual(serviceAddresses(service({ clusterIP: 'None' })).entries, []);
    assert.deepEqual(serviceAddresses(service({})).entries, []);
  });

  test('ExternalName publishes its name as a hostname', () => {
    const svc = service({ type: 'ExternalName', externalName: 'edge.example.com.', ports: [] });
    assert.deepEqual(serviceAddresses(svc).entries, [{ hostname: 'edge.example.com' }]);
  });
});

describe('entry sets', () => {
  test('order and duplicates do not matter; ports are part of an entry', () => {
    assert.equal(sameEntries([{ ip: '10.0.0.1' }, { hostname: 'a.example.com' }], [{ hostname: 'a.example.com' }, { ip: '10.0.0.1' }, { ip: '10.0.0.1' }]), true);
    assert.equal(sameEntries([{ ip: '10.0.0.1' }], [{ ip: '10.0.0.1', ports: [{ port: 443, protocol: 'TCP' }] }]), false);
    assert.equal(sameEntries([], []), true);
    assert.equal(entriesKey([{ ip: '10.0.0.1', ports: [] }]), entriesKey([{ ip: '10.0.0.1' }]));
    assert.deepEqual(normalizeEntries([{ ip: '10.0.0.1', ports: [{ port: 443, protocol: 'TCP' }, { port: 80, protocol: 'TCP' }] }]), [
      { ip: '10.0.0.1', ports: [{ port: 80, protocol: 'TCP' }, { port: 443, protocol: 'TCP' }] },
    ]);
  });
});
