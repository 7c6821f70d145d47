import { clusterMessages, maskMessage } from '@incident-pilot/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('maskMessage', () => {
  it.each([
    ['numbers', 'upstream timeout request 4182', 'upstream timeout request <*>'],
    ['decimals and versions', 'took 12.5 ms on v2.3.1', 'took <*> ms on v<*>'],
    ['UUIDs', 'order 3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f not found', 'order <*> not found'],
    ['IPv4 with port', 'connect to 10.0.12.7:5432 refused', 'connect to <*> refused'],
    ['hex literals', 'segfault at 0x7ffe12ab', 'segfault at <*>'],
    ['bare hex ids', 'span 9f3c2ab1d4e5 failed', 'span <*> failed'],
    ['paths', 'cannot open /var/lib/app/data.db', 'cannot open <*>'],
    ['double-quoted values', 'unknown user "alice smith"', 'unknown user <*>'],
    ['single-quoted values', "bad header 'X-Trace'", 'bad header <*>'],
    ['emails', 'mail to ops@example.com bounced', 'mail to <*> bounced'],
    ['URLs', 'GET https://api.example.com/v1/users?id=7 failed', 'GET <*> failed'],
    ['ISO timestamps', 'lease expired at 2026-11-25T03:59:01.056Z', 'lease expired at <*>'],
    ['adjacent variables collapse', 'id=abc123def456-42', 'id=<*>-<*>'],
  ])('masks %s', (_name, message, expected) => {
    expect(maskMessage(message)).toBe(expected);
  });

  it('keeps words with apostrophes', () => {
    expect(maskMessage("can't reach db, won't retry")).toBe("can't reach db, won't retry");
  });

  it('applies extra masks first', () => {
    expect(maskMessage('block blk_-123 lost', [/blk_-?\d+/g])).toBe('block <*> lost');
  });
});

describe('clusterMessages', () => {
  it('groups lines that differ only in variables into one template', () => {
    const messages = Array.from({ length: 10 }, (_, i) => `upstream timeout request ${i * 37}`);

    const templates = clusterMessages(messages);

    expect(templates).toEqual([
      { template: 'upstream timeout request <*>', count: 10, indices: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ]);
  });

  it('merges same-length lines that differ in few unmasked tokens', () => {
    const templates = clusterMessages([
      'user alice logged in from web',
      'user bob logged in from web',
      'user carol logged in from mobile',
    ]);

    expect(templates.map((t) => [t.template, t.count])).toEqual([['user <*> logged in from <*>', 3]]);
  });

  it.each([
    ['different lengths', ['connection reset by peer', 'connection reset']],
    ['different first words', ['timeout calling payments', 'retrying calling payments']],
    ['mostly different words', ['disk full on data volume', 'disk quota exceeded for tenant']],
  ])('keeps apart lines with %s', (_name, messages) => {
    expect(clusterMessages(messages)).toHaveLength(2);
  });

  it('orders templates by count, then first occurrence', () => {
    const templates = clusterMessages(['a failed', 'b broke down', 'b broke down', 'c done', 'a failed']);

    expect(templates.map((t) => [t.template, t.count])).toEqual([
      ['a failed', 2],
      ['b broke down', 2],
      ['c done', 1],
    ]);
  });

  it('handles empty and whitespace-only messages', () => {
    const templates = clusterMessages(['', '   ', 'x']);

    expect(templates.map((t) => [t.template, t.count])).toEqual([
      ['', 2],
      ['x', 1],
    ]);
  });

  it('partitions the input: every index in exactly one template, ascending', () => {
    const word = fc.constantFrom('timeout', 'user', 'request', 'failed', 'db', 'retry', '42', '0xff', '/tmp/a');
    fc.assert(
      fc.property(
        fc.array(
          fc.array(word, { maxLength: 6 }).map((ws) => ws.join(' ')),
          { maxLength: 60 },
        ),
        (msgs) => {
          const templates = clusterMessages(msgs);
          const indices = templates.flatMap((t) => t.indices);
          expect(indices.sort((a, b) => a - b)).toEqual(msgs.map((_, i) => i));
          for (const t of templates) {
            expect(t.count).toBe(t.indices.length);
            expect(t.indices).toEqual([...t.indices].sort((a, b) => a - b));
          }
        },
      ),
    );
  });

  it('is deterministic', () => {
    const messages = ['x 1', 'y failed at 2', 'x 3', 'y failed at 9', 'z'];

    expect(clusterMessages(messages)).toEqual(clusterMessages([...messages]));
  });
});
