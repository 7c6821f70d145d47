/**
 * Token typing for log template mining: split a message on whitespace and replace what is certainly
 * variable — anything holding a digit, paths, URLs, addresses, dates — with `<*>`, token by token, so the
 * grouping only has to decide about plain words.
 */

/** What a masked variable looks like in a template. */
export const WILDCARD = '<*>';

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\\.?,?';
// ctime / syslog style dates span several tokens (`Fri Jul  1 07:57:30 2005`); the words in them vary too.
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d+)?';
// ctime / syslog dates span several tokens (`Fri Jul  1 07:57:30 2005`), and their words vary too.
const SPACED_DATE = new RegExp(
  `(?<!\\w)(?:${WEEKDAY}\\s+)?(?:${MONTH}\\s+\\d{1,2}|\\d{1,2}\\s+${MONTH}),?(?:\\s+\\d{4}(?:\\s+${TIME})?|\\s+${TIME}(?:\\s+\\d{4})?)(?!\\w)`,
  'g',
);
const HAS_MONTH = new RegExp(MONTH);
// Runs of letters and digits that hold a digit: numbers, ids, versions, hex (`blk_123` → `blk_<*>`).
const DIGIT_RUNS = /[A-Za-z0-9]*\d[A-Za-z0-9]*/g;
// Variables joined by punctuation only (`<*>.<*>.<*>`, `<*>-<*>`) are one variable.
// A name with a short number suffix (`eth0`, `ssh2`) is left to the frequency analysis.
const NAME_WITH_DIGIT = /^[A-Za-z]{2,}\d{1,2}$/;
const KEEP = process.env.KEEP !== '0';
const WILDCARD_RUNS = /<\*>(?:[^A-Za-z\s<]*<\*>)*/g;
const UNITS = /^(?:[KMGTP]i?B|B|bytes?|[mun]?s|sec|secs|seconds?|min|mins|minutes?|hours?|ms|us|ns|%)[,;.)]*$/;
const QUOTED_VALUE = /([=:])(?:"[^"]*"|'[^']*')/g;
const COLLAPSE = process.env.COLLAPSE !== '0';
const QUOTE_VALUES = process.env.QV !== '0';
const HAS_LETTER = /[A-Za-z]/;
// A path or URL: starts with `/`, `./`, `~/`, a drive letter, a scheme, or has two or more slashes.
const PATH = /^[("'[<{]*(?:\.{0,2}\/|~\/|[A-Za-z]:\\|[A-Za-z][\w+.-]*:\/\/)|\/[^/]*\//;
const EMAIL = /[\w.+-]@[\w-]+\./;

function isPlainWord(token: string): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    // digit, `/`, `@`, `\`
    if ((c >= 48 && c <= 57) || c === 47 || c === 64 || c === 92) return false;
  }
  return true;
}

/** The typed form of one whitespace-separated token: itself, partly masked (`id=<*>`), or `<*>`. */
export function typeToken(token: string): string {
  if (isPlainWord(token)) return token;
  if (PATH.test(token) || EMAIL.test(token)) return WILDCARD;
  const masked = token.replace(DIGIT_RUNS, (run) => (NAME_WITH_DIGIT.test(run) && KEEP ? run : WILDCARD)).replace(WILDCARD_RUNS, WILDCARD);
  // Nothing but variables and punctuation left (`10.0.0.1:80`, `(12`, `3.5s`): one variable.
  return HAS_LETTER.test(masked.replaceAll(WILDCARD, '')) ? masked : WILDCARD;
}

/** A token that is or contains a variable counts as variable for routing and similarity. */
export const isVariable = (token: string): boolean => token.includes(WILDCARD);

/**
 * Splits a message into typed tokens. `extraMasks` (global regexes) are replaced by `<*>` first.
 */
export function tokenize(message: string, extraMasks: readonly RegExp[] = []): string[] {
  let text = message;
  for (const mask of extraMasks) text = text.replace(mask, WILDCARD);
  if (HAS_MONTH.test(text)) text = text.replace(SPACED_DATE, WILDCARD);
  // A quoted value of a key (`tag="View Lock"`) is one variable however many words it has.
  if (QUOTE_VALUES) text = text.replace(QUOTED_VALUE, `$1${WILDCARD}`);
  const raw = text.split(/\s+/);
  const tokens: string[] = [];
  for (const token of raw) {
    if (token === '') continue;
    const typed = typeToken(token);
    const previous = tokens[tokens.length - 1];
    // A variable may span several tokens (`12 KB`, `1, 2, 3`, a date): consecutive variables are one.
    if (previous === WILDCARD && COLLAPSE && (typed === WILDCARD || UNITS.test(token))) continue;
    tokens.push(typed);
  }
  return tokens;
}

/**
 * Replaces the variable parts of a log message — numbers and anything holding a digit, paths, URLs,
 * emails, dates — with `<*>` and normalises whitespace. `extraMasks` (global regexes) run first.
 */
export function maskMessage(message: string, extraMasks: readonly RegExp[] = []): string {
  return tokenize(message, extraMasks).join(' ');
}
