import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_MODEL } from '../../model/model.ts';
import { compile } from '../compile/route-table.ts';
import { TableHolder } from './table-holder.ts';

test('swap replaces the current table and notifies listeners after the switch', () => {
  const t0 = compile(EMPTY_MODEL, 0);
  const t1 = compile(EMPTY_MODEL, 1);
  const holder = new TableHolder(t0);
  const captured = holder.current;
  const seen: number[] = [];
  const off = holder.onSwap((next, prev) => {
    assert.equal(holder.current, next);
    seen.push(prev.generation, next.generation);
  });
  holder.swap(t1);
  assert.equal(holder.current, t1);
  assert.equal(captured, t0, 'a reference captured before the swap is unchanged');
  off();
  holder.swap(t0);
  assert.deepEqual(seen, [0, 1]);
});
