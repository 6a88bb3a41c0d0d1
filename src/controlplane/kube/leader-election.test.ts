import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { silentLogger } from '../../shared/log.ts';
import { acquiredSpec, LeaderElector, leaseState, releasedSpec, type LeaderElectorOptions } from './leader-election.ts';
import { parseMicroTime } from './microtime.ts';
import { eventually, startLiveApi, type LiveApi } from './test-support/live-api.ts';

const T0 = Date.UTC(2026, 10, 23, 20, 0, 0);

describe('lease decisions (pure)', () => {
  const held = { holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: '2020-01-01T00:00:00.000000Z' };

  test('another holder is respected until leaseDuration after we saw the record change, whatever renewTime says', () => {
    assert.equal(leaseState(held, T0, 'a', T0 + 14_999), 'held');
    assert.equal(leaseState(held, T0, 'a', T0 + 15_000), 'free');
    // renewTime far in the future (clock skew) does not matter either.
    assert.equal(leaseState({ ...held, renewTime: '2099-01-01T00:00:00.000000Z' }, T0, 'a', T0 + 15_001), 'free');
  });

  test('our own record is ours; an empty holder is free at once', () => {
    assert.equal(leaseState({ ...held, holderIdentity: 'a' }, T0, 'a', T0 + 1), 'ours');
    assert.equal(leaseState({ ...held, holderIdentity: '' }, T0, 'a', T0 + 1), 'free');
    assert.equal(leaseState({}, T0, 'a', T0), 'free');
  });

  test('a new Lease: we hold it, times are MicroTime, no transitions yet', () => {
    assert.deepEqual(acquiredSpec(undefined, 'a', T0 + 0.5, 15), {
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-11-23T20:00:00.000500Z',
      renewTime: '2026-11-23T20:00:00.000500Z',
      leaseTransitions: 0,
    });
  });

  test('renewing keeps acquireTime and transitions; taking over increments transitions', () => {
    const ours = acquiredSpec(undefined, 'a', T0, 15);
    const renewed = acquiredSpec(ours, 'a', T0 + 2000, 15);
    assert.equal(renewed.acquireTime, ours.acquireTime);
    assert.equal(renewed.renewTime, '2026-11-23T20:00:02.000000Z');
    assert.equal(renewed.leaseTransitions, 0);
    const taken = acquiredSpec(renewed, 'b', T0 + 30_000, 15);
    assert.equal(taken.holderIdentity, 'b');
    assert.equal(taken.acquireTime, '2026-11-23T20:00:30.000000Z');
    assert.equal(taken.leaseTransitions, 1);
  });

  test('release empties the holder, keeps transitions and makes the lease short', () => {
    const released = releasedSpec({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 4 }, T0);
    assert.deepEqual(released, { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: '2026-11-23T20:00:00.000000Z', renewTime: '2026-11-23T20:00:00.000000Z', leaseTransitions: 4 });
    assert.equal(acquiredSpec(released, 'b', T0 + 1, 15).leaseTransitions, 5);
  });

  test('durations must nest', () => {
    const base = { client: {} as LeaderElectorOptions['client'], namespace: 'x', name: 'l', identity: 'a', logger: silentLogger };
    assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), RangeError);
    assert.throws(() => new LeaderElector({ ...base, renewDeadlineMs: 2000, retryPeriodMs: 2000 }), RangeError);
    assert.throws(() => new LeaderElector({ ...base, identity: '' }), RangeError);
  });
});

describe('LeaderElector against the test API server', () => {
  let api: LiveApi;
  const electors: LeaderElector[] = [];
  beforeEach(async () => {
    api = await startLiveApi();
    api.server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'martello' } });
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
    await api.close();
  });

  interface Candidate {
    readonly elector: LeaderElector;
    started: number;
    stopped: number;
  }

  async function candidate(identity: string): Promise<Candidate> {
    const c: { elector?: LeaderElector; started: number; stopped: number } = { started: 0, stopped: 0 };
    c.elector = new LeaderElector({
      client: await api.client(),
      namespace: 'martello',
      name: 'martello-leader',
      identity,
      leaseDurationMs: 1000,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
      logger: silentLogger,
      onStartedLeading: () => c.started++,
      onStoppedLeading: () => c.stopped++,
    });
    electors.push(c.elector);
    return c as Candidate;
  }

  function lease(): { holderIdentity?: string; leaseTransitions?: number; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number } {
    const obj = api.server.get('coordination.k8s.io/v1', 'Lease', 'martello', 'martello-leader');
    assert.ok(obj, 'the Lease exists');
    return obj['spec'] as ReturnType<typeof lease>;
  }

  async function oneLeader(a: Candidate, b: Candidate): Promise<[Candidate, Candidate]> {
    await eventually(() => a.elector.isLeader || b.elector.isLeader, 5000, 'a leader');
    return a.elector.isLeader ? [a, b] : [b, a];
  }

  test('of two candidates exactly one leads, and the Lease says so in MicroTime', async () => {
    const a = await candidate('pod-a');
    const b = await candidate('pod-b');
    a.elector.start();
    b.elector.start();
    const [leader, follower] = await oneLeader(a, b);
    const until = Date.now() + 700;
    while (Date.now() < until) {
      assert.ok(!(a.elector.isLeader && b.elector.isLeader), 'never two leaders');
      assert.equal(leader.elector.isLeader, true);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const spec = lease();
    assert.equal(spec.holderIdentity, leader === a ? 'pod-a' : 'pod-b');
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(spec.leaseTransitions, 0);
    assert.match(spec.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(spec.acquireTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.ok(parseMicroTime(spec.renewTime!)! > parseMicroTime(spec.acquireTime!)!, 'renewed since acquired');
    assert.equal(leader.started, 1);
    assert.equal(follower.started, 0);
    // Renewals are PUTs on the Lease carrying the resourceVersion.
    const puts = api.server.journal.filter((e) => e.method === 'PUT' && e.path === '/apis/coordination.k8s.io/v1/namespaces/martello/leases/martello-leader' && e.status === 200);
    assert.ok(puts.length >= 3);
    assert.ok(puts.every((p) => typeof (p.body as { metadata: { resourceVersion?: string } }).metadata.resourceVersion === 'string'));
  });

  test('release hands over at once, and leaseTransitions counts the takeover', async () => {
    const a = await candidate('pod-a');
    const b = await candidate('pod-b');
    a.elector.start();
    b.elector.start();
    const [leader, follower] = await oneLeader(a, b);
    await new Promise((resolve) => setTimeout(resolve, 250)); // the follower has seen the held lease
    const released = Date.now();
    await leader.elector.release();
    assert.equal(leader.elector.isLeader, false);
    assert.equal(leader.stopped, 1);
    await eventually(() => follower.elector.isLeader, 3000, 'the follower to lead');
    const took = Date.now() - released;
    assert.ok(took < 900, `takeover took ${took} ms, as long as the lease duration`);
    const spec = lease();
    assert.equal(spec.holderIdentity, follower === a ? 'pod-a' : 'pod-b');
    assert.equal(spec.leaseTransitions, 1); // release keeps the count; the takeover adds one
    assert.equal(spec.leaseDurationSeconds, 1);
  });

  test('a crashed leader (no release) is taken over only after the lease duration', async () => {
    const a = await candidate('pod-a');
    const b = await candidate('pod-b');
    a.elector.start();
    b.elector.start();
    const [leader, follower] = await oneLeader(a, b);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const crashed = Date.now();
    await leader.elector.stop();
    await eventually(() => follower.elector.isLeader, 5000, 'the follower to lead');
    const took = Date.now() - crashed;
    // The last renewal was at most one retry period (100 ms) before the crash.
    assert.ok(took >= 850, `took over after ${took} ms, before the 1 s lease expired`);
    const spec = lease();
    assert.equal(spec.holderIdentity, follower === a ? 'pod-a' : 'pod-b');
    assert.equal(spec.leaseTransitions, 1);
    assert.equal(follower.started, 1);
  });

  test('a leader that cannot renew within the renew deadline steps down', async () => {
    const a = await candidate('pod-a');
    a.elector.start();
    await eventually(() => a.elector.isLeader, 5000, 'leadership');
    const failing = Date.now();
    api.server.faults.failNext(1000, 500);
    await eventually(() => !a.elector.isLeader, 5000, 'stepping down');
    const took = Date.now() - failing;
    assert.ok(took >= 450, `stepped down after ${took} ms, before the 600 ms deadline`);
    assert.equal(a.stopped, 1);
  });

  test('a Lease taken by someone else (conflicting writes) ends leadership', async () => {
    const a = await candidate('pod-a');
    a.elector.start();
    await eventually(() => a.elector.isLeader, 5000, 'leadership');
    const obj = api.server.get('coordination.k8s.io/v1', 'Lease', 'martello', 'martello-leader')!;
    api.server.update({ ...obj, spec: { ...(obj['spec'] as object), holderIdentity: 'intruder', leaseDurationSeconds: 60 } });
    await eventually(() => !a.elector.isLeader, 3000, 'stepping down');
    assert.equal(a.stopped, 1);
    const conflicts = api.server.journal.filter((e) => e.method === 'PUT' && e.status === 409);
    assert.ok(conflicts.length >= 1, 'the renewal with the old resourceVersion got 409');
    assert.equal(lease().holderIdentity, 'intruder');
  });
});
