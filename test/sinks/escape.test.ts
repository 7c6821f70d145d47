import {
  defuseBareMentions,
  ELLIPSIS,
  escapeSlackText,
  oneLine,
  sanitizeText,
  slackCode,
  truncateEscaped,
  unescapeSlackText,
} from '@incident-pilot/sinks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOSTILE } from './incidents.js';

// Full-unicode strings sprinkled with the characters that matter, so entities are common.
const text = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom('&', '<', '>', '&amp;', '&lt;', '<!here>', '`')))
  .map((parts) => parts.join(''));

describe('escapeSlackText', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here>', '&lt;!here&gt;'],
    ['<!everyone>', '&lt;!everyone&gt;'],
    ['<@U024BE7LH>', '&lt;@U024BE7LH&gt;'],
    ['<#C123|general>', '&lt;#C123|general&gt;'],
    ['<!subteam^S123>', '&lt;!subteam^S123&gt;'],
    ['<http://evil.example|click me>', '&lt;http://evil.example|click me&gt;'],
    ['&amp;', '&amp;amp;'],
    ['a & b < c > d', 'a &amp; b &lt; c &gt; d'],
    ['*bold* _it_ `code`', '*bold* _it_ `code`'],
    ['日本語 🚨', '日本語 🚨'],
  ])('escapes %j as %j', (input, expected) => {
    expect(escapeSlackText(input)).toBe(expected);
  });

  it('never leaves < or > and unescapes back to the original, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ unit: 'binary' })), (s) => {
        const escaped = escapeSlackText(s);
        expect(escaped).not.toMatch(/[<>]/);
        expect(unescapeSlackText(escaped)).toBe(s);
      }),
    );
  });

  it('truncates within the limit to a prefix of the original, never cutting an entity or surrogate pair', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 60 }), (s, max) => {
        const out = escapeSlackText(s, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(/[<>]/);
        expect(out).not.toMatch(/&(?!amp;|lt;|gt;)/);
        expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
        const kept = out.endsWith(ELLIPSIS) && out !== escapeSlackText(s) ? out.slice(0, -1) : out;
        expect(s.startsWith(unescapeSlackText(kept))).toBe(true);
      }),
    );
  });

  it('keeps text that fits untouched', () => {
    expect(escapeSlackText('a < b', 8)).toBe('a &lt; b');
    expect(escapeSlackText('a < b', 7)).toBe('a &lt;…');
    expect(escapeSlackText('a < b', 6)).toBe('a …');
  });

  it('backs off to before an entity that would be cut', () => {
    expect(truncateEscaped('ab&amp;cd', 5)).toBe('ab…');
    expect(truncateEscaped('ab&amp;cd', 8)).toBe('ab&amp;…');
    expect(truncateEscaped('😀😀', 3)).toBe('😀…');
    expect(truncateEscaped('😀😀', 2)).toBe('…');
  });
});

describe('sanitizeText and oneLine', () => {
  it('replaces terminal escapes and bidi overrides, keeps tabs and newlines', () => {
    expect(sanitizeText('a\u001b[31mb\u202Ec\td\r\ne')).toBe('a\uFFFD[31mb\uFFFDc\td\ne');
  });

  it('collapses newlines so one value cannot forge extra lines', () => {
    expect(oneLine('checkout\n*Severity*\n low  ')).toBe('checkout *Severity* low');
  });
});

describe('slackCode', () => {
  it('uses an inline code span for a simple one-line literal', () => {
    expect(slackCode('kubectl rollout undo deploy/api', 100)).toBe('`kubectl rollout undo deploy/api`');
  });

  it('escapes inside code too (Slack decodes entities there)', () => {
    expect(slackCode('replay --alert <alert.json>', 100)).toBe('`replay --alert &lt;alert.json&gt;`');
  });

  it('stays within its budget, fences included', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 12, max: 80 }), (s, max) => {
        const out = slackCode(s, max);
        expect(out.length).toBeLessThanOrEqual(max);
        expect(out).not.toMatch(/[<>]/);
      }),
    );
  });

  it.each(HOSTILE)('renders hostile %j inertly', (s) => {
    const out = slackCode(s, 500);
    expect(out).not.toMatch(/[<>]/);
    const inner = out.startsWith('```') ? out.slice(3, -3) : out.slice(1, -1);
    expect(inner).not.toContain('```');
  });
});

describe('defuseBareMentions', () => {
  it('breaks bare broadcast words with a zero-width space', () => {
    expect(defuseBareMentions('ping @here and @Channel, mail a@everyone.example')).toBe(
      'ping @\u200bhere and @\u200bChannel, mail a@\u200beveryone.example',
    );
  });
});
