/**
 * Turning untrusted strings (alert labels, log lines, commit messages, rule output) into Slack text
 * that is shown, never executed.
 *
 * Decisions:
 * - Security comes from Slack's own escaping rule: `&`, `<` and `>` become `&amp;`, `&lt;`, `&gt;`.
 *   Every control sequence Slack acts on (`<!channel>`, `<!here>`, `<@U…>`, `<#C…>`, `<!subteam^…>`,
 *   `<http://x|y>`, `<!date^…>`) needs a raw `<`, so none survives. The escape is exactly reversible
 *   ({@link unescapeSlackText}), so nothing the engineer reads is altered.
 * - Bare `@here`/`#channel`/URLs are auto-parsed only in mrkdwn objects without `verbatim: true`; the
 *   Slack sink sets `verbatim: true` on every mrkdwn object and defuses bare broadcast words in the
 *   top-level fallback text ({@link defuseBareMentions}).
 * - mrkdwn emphasis (`*`, `_`, `~`) is NOT rewritten in prose: Slack has no backslash escape, so the
 *   only neutralisers are look-alike characters or zero-width spaces, which would silently corrupt
 *   identifiers such as `recent_correlated` when copied. At worst stray emphasis changes how prose
 *   looks, never what it says. Strings whose exact characters matter (suggested commands, commit ids,
 *   trace ids, fingerprints, incident ids) go into code spans/blocks via {@link slackCode}, where Slack
 *   applies no formatting at all.
 * - Control and bidirectional-override characters are replaced by U+FFFD before escaping
 *   ({@link sanitizeText}): they can reorder or hide text in the client (a "Trojan Source" spoof).
 */

/** Slack's documented size limits (characters) for the places the sinks write text into. */
export const SLACK_LIMITS = {
  /** `header` block `plain_text`. */
  headerText: 150,
  /** `section` block `text`. */
  sectionText: 3000,
  /** One `section` field. */
  sectionField: 2000,
  /** Fields per `section` block. */
  sectionFields: 10,
  /** One `context` block element. */
  contextElement: 2000,
  /** Elements per `context` block. */
  contextElements: 10,
  /** Top-level `text` (the notification / screen-reader fallback); Slack advises under 4,000. */
  fallbackText: 4000,
  /** Blocks per message. */
  blocks: 50,
} as const;

/** Appended to text that was cut; one character so limits stay easy to reason about. */
export const ELLIPSIS = '…';

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };
const UNENTITY: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };
const LONGEST_ENTITY = '&amp;'.length;

/**
 * Escapes `&`, `<`, `>` the way Slack requires for `mrkdwn` and `plain_text`, then, when `maxLength`
 * is given, truncates to at most that many UTF-16 code units (ending in `…`) without cutting an
 * entity or a surrogate pair in half.
 */
export function escapeSlackText(s: string, maxLength?: number): string {
  const escaped = s.replace(/[&<>]/g, (c) => ENTITY[c] ?? c);
  return maxLength === undefined ? escaped : truncateEscaped(escaped, maxLength);
}

/** The inverse of {@link escapeSlackText} (before truncation): what a Slack client displays. */
export function unescapeSlackText(s: string): string {
  return s.replace(/&(?:amp|lt|gt);/g, (e) => UNENTITY[e] ?? e);
}

/**
 * Cuts already-escaped text to `maxLength` code units, appending `…`. Never leaves half an entity
 * (`&am…` would render literally) or a lone surrogate (invalid UTF-16 that JSON encoders mangle).
 */
export function truncateEscaped(escaped: string, maxLength: number): string {
  if (escaped.length <= maxLength) return escaped;
  if (maxLength < 1) return '';
  let cut = maxLength - ELLIPSIS.length;
  // In escaped text every `&` starts an entity; if the last one before the cut ends after it, cut before it.
  const amp = escaped.lastIndexOf('&', cut - 1);
  if (amp !== -1 && cut - amp < LONGEST_ENTITY && escaped.indexOf(';', amp) >= cut) cut = amp;
  if (cut > 0 && isHighSurrogate(escaped.charCodeAt(cut - 1))) cut -= 1;
  return escaped.slice(0, cut) + ELLIPSIS;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

// C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates, and lone
// surrogates (which JSON.stringify would emit as escapes Slack may reject).
const UNSAFE_CHARS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces control, bidi-override and lone-surrogate characters with U+FFFD; normalises CRLF to LF. */
export function sanitizeText(s: string): string {
  return s.replace(/\r\n?/g, '\n').replace(UNSAFE_CHARS, '\uFFFD');
}

/** {@link sanitizeText}, then collapses all whitespace (newlines included) to single spaces: for one-line fields. */
export function oneLine(s: string): string {
  return sanitizeText(s).replace(/\s+/g, ' ').trim();
}

/**
 * Safe Slack text for an untrusted value: sanitised, escaped and truncated. `singleLine` collapses
 * newlines so a value cannot forge extra lines (e.g. a fake "Severity: low" row).
 */
export function slackText(s: string, maxLength: number, { singleLine = false } = {}): string {
  return escapeSlackText(singleLine ? oneLine(s) : sanitizeText(s), maxLength);
}

/**
 * Renders an untrusted literal (a command, an id) so Slack shows it character for character: an
 * inline code span when it is one line without backticks, otherwise a code block. Slack has no escape
 * for a backtick inside code, so inside a block a zero-width space separates adjacent backticks (and
 * any touching the fences) — the one place text is altered, and visibly marked as code.
 * The result, fences included, is at most `maxLength` characters.
 */
export function slackCode(s: string, maxLength: number): string {
  const clean = sanitizeText(s);
  if (!clean.includes('`') && !clean.includes('\n')) {
    const inner = oneLine(clean) || ' ';
    return `\`${escapeSlackText(inner, Math.max(1, maxLength - 2))}\``;
  }
  const fence = '```';
  const budget = Math.max(1, maxLength - 2 * fence.length - 2);
  let inner = truncateEscaped(escapeSlackText(clean).replace(/`(?=`)/g, '`\u200b'), budget);
  if (inner.startsWith('`')) inner = `\u200b${inner}`;
  if (inner.endsWith('`')) inner = `${inner}\u200b`;
  return `${fence}${inner}${fence}`;
}

// Broadcast words Slack may link when parsing is on; a zero-width space after `@` stops the match.
const BARE_BROADCAST = /@(here|channel|everyone)\b/gi;

/** Defuses bare `@here`/`@channel`/`@everyone` in text that Slack might auto-parse (the fallback `text`). */
export function defuseBareMentions(s: string): string {
  return s.replace(BARE_BROADCAST, '@\u200b$1');
}
