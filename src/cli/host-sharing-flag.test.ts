// --allow-cross-namespace-hosts: the one flag behind translate's hostSharing,
// accepted by every command that translates (it is one of CLASS_FLAGS).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLASS_FLAGS, parseFlags, translateOptionsFrom } from './options.ts';

test('--allow-cross-namespace-hosts selects merge; without it a host belongs to one namespace', () => {
  const on = parseFlags(['--allow-cross-namespace-hosts'], CLASS_FLAGS);
  assert.equal(translateOptionsFrom(on, { standalone: false }).hostSharing, 'merge');
  const off = parseFlags([], CLASS_FLAGS);
  assert.equal(translateOptionsFrom(off, { standalone: true }).hostSharing, 'namespace');
  const negated = parseFlags(['--no-allow-cross-namespace-hosts'], CLASS_FLAGS);
  assert.equal(translateOptionsFrom(negated, { standalone: false }).hostSharing, 'namespace');
});
