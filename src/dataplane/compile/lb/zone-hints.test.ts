import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddress } from '../../../model/model.ts';
import { endpointsForZone } from './zone-hints.ts';

const a: EndpointAddress = { address: '10.0.0.1', port: 80, zone: 'a', forZones: ['a'] };
const b: EndpointAddress = { address: '10.0.0.2', port: 80, zone: 'b', forZones: ['b', 'c'] };
const unhinted: EndpointAddress = { address: '10.0.0.3', port: 80, zone: 'a' };

test('zone hints: endpoints hinted for our zone, when every endpoint has hints', () => {
  assert.deepEqual(endpointsForZone([a, b], 'a'), [a]);
  assert.deepEqual(endpointsForZone([a, b], 'c'), [b]);
});

test('zone hints: ignored without a zone, with an unhinted endpoint, or when nothing is hinted for us', () => {
  assert.deepEqual(endpointsForZone([a, b], undefined), [a, b]);
  assert.deepEqual(endpointsForZone([a, b, unhinted], 'a'), [a, b, unhinted]);
  assert.deepEqual(endpointsForZone([a, b], 'd'), [a, b]);
  assert.deepEqual(endpointsForZone([], 'a'), []);
});
