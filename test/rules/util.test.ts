import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstOf } from '../../packages/core/src/rules/util.js';

interface Item {
  duration: number;
  id: string;
  /** Position in the input: tells tied items apart. */
  at: number;
}

const slowerFirst = (a: Item, b: Item) => b.duration - a.duration || a.id.localeCompare(b.id);

describe('firstOf', () => {
  it('picks what a stable sort then slice(0, k) picks, ties in input order', () => {
    const items = fc
      .array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom('a', 'b', 'c')), { maxLength: 60 })
      .map((pairs) => pairs.map(([duration, id], at): Item => ({ duration, id, at })));
    fc.assert(
      fc.property(items, fc.integer({ min: 0, max: 8 }), (list, k) => {
        expect(firstOf(list, k, slowerFirst)).toEqual([...list].sort(slowerFirst).slice(0, k));
      }),
    );
  });
});
