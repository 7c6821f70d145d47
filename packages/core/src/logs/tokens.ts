/**
 * Token typing for log template mining: split a message on whitespace and replace what is certainly
 * variable — anything holding a digit, paths, URLs, addresses, dates — with `<*>`, token by token, so the
 * grouping only has to decide about plain words.
 */

/** What a masked variable looks like in a template. */
export const WILDCARD = '<*>';

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?';
const WEEKDAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*\\.?,?';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2})?(?:[.,]\\d+)?';
// ctime / syslog dates span several tokens (`Fri Jul  1 07:57:30 2005`), and their words vary too.
const SPACED_DATE = new RegExp(
  `(?<!\\w)(?:${WEEKDAY}\\s+)?(?:${MONTH}\\s+\\d{1,2}|\\d{1,2}\\s+${MONTH}),?(?:\\s+\\d{4}(?:\\s+${TIME})?|\\s+${TIME}(?:\\s+\\d{4})?)(?!\\w)`,
  'g',
);
const HAS_MONTH = new RegExp(MONTH);
// A comma-separated list without spaces (`yarn,curi`) is a value.
const LIST = /^[^,]+(?:,[^,]+)+,?$/;
// Units of a number that follow it as a separate token (`12 KB`, `3 ms`).
const UNITS = /^(?:[KMGTP]i?B|B|bytes?|[mun]?s|secs?|seconds?|mins?|minutes?|hours?|%)[,;.)]*$/;
const QUOTED_VALUE = /([=:])(?:"[^"]*"|'[^']*')/g;
// A path or URL: starts with `/`, `./`, `~/`, a drive letter, a scheme, or has two or more (back)slashes.
const PATH = /^[("'[<{]*(?:\.{0,2}\/|~\/|[A-Za-z]:\\|[A-Za-z][\w+.-]*:\/\/)|\/[^/]*\/|\\[^\\]*\\/;
const EMAIL = /[\w.+-]@[\w-]+\./;

const isDigit = (c: number) => c >= 48 && c <= 57;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** What the regular-expression class `\s` matches: ASCII and Unicode white space. */
const isSpace = (c: number) =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  (c >= 160 &&
    (c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));

/**
 * The typed form of one whitespace-separated token: itself, partly masked (`id=<*>`), or `<*>`. The
 * caller has scanned it: whether it holds a digit, and a `/`, `@`, `\` or a comma before its end.
 */
function typeToken(token: string, digits: boolean, special: boolean): string {
  if (special && (PATH.test(token) || EMAIL.test(token) || LIST.test(token))) return WILDCARD;
  if (!digits) return token;
  // Runs of letters and digits that hold a digit are variables (`blk_123` → `blk_<*>`), unless a name
  // with a short number suffix; variables joined by punctuation only (`<*>.<*>:<*>`) are one. The text
  // between variables is copied in slices: `token[copied, i)` is still to be appended.
  let out = '';
  let copied = 0;
  let letters = false;
  // Where the last variable starts in `out`, while only punctuation (not `<`) has followed it.
  let joinable = -1;
  for (let i = 0; i < token.length; ) {
    let j = i;
    let firstDigit = -1;
    let letterAfterDigit = false;
    for (; j < token.length; j++) {
      const c = token.charCodeAt(j);
      if (isDigit(c)) {
        if (firstDigit < 0) firstDigit = j;
      } else if (isLetter(c)) {
        if (firstDigit >= 0) letterAfterDigit = true;
      } else break;
    }
    if (j === i) {
      if (token.charCodeAt(i) === 60) joinable = -1; // `<`
      i++;
      continue;
    }
    // `eth0`, `ssh2`: at least two letters, then one or two digits.
    const nameWithDigit = firstDigit - i >= 2 && !letterAfterDigit && j - firstDigit <= 2;
    if (firstDigit < 0 || nameWithDigit) {
      letters = true;
      joinable = -1;
    } else {
      // Joined to the previous variable by punctuation only: that punctuation is dropped.
      if (joinable < 0) {
        out += token.slice(copied, i);
        joinable = out.length;
        out += WILDCARD;
      }
      copied = j;
    }
    i = j;
  }
  // Nothing but variables and punctuation left (`10.0.0.1:80`, `(12`, `3.5s`): one variable.
  return letters ? out + token.slice(copied) : WILDCARD;
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
  if (text.includes('"') || text.includes("'")) text = text.replace(QUOTED_VALUE, `$1${WILDCARD}`);
  const tokens: string[] = [];
  // The runs between whitespace, as `text.split(/\s+/)` without its empty ends, scanned once for
  // what `typeToken` needs to know.
  for (let i = 0, end = 0; i < text.length; i = end) {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i === text.length) break;
    let digits = false;
    let special = false;
    let commas = 0;
    let comma = -1;
    for (end = i; end < text.length; end++) {
      const c = text.charCodeAt(end);
      if (isDigit(c)) digits = true;
      else if (c === 47 || c === 64 || c === 92) special = true;
      else if (c === 44) {
        commas++;
        comma = end;
      } else if (isSpace(c)) break;
    }
    // A comma counts only inside the token, not as its last character.
    if (commas > 1 || (commas === 1 && comma < end - 1)) special = true;
    const token = text.slice(i, end);
    const typed = typeToken(token, digits, special);
    const last = tokens.length - 1;
    const previous = tokens[last];
    // A variable may span several tokens: a number with its unit is one token that keeps the unit
    // (`<*> ms`, a variable still); consecutive variables (`1, 2, 3`, `12 bytes (1.2 KB)`) are one `<*>`.
    if (previous === WILDCARD && UNITS.test(token)) tokens[last] = `${WILDCARD} ${token}`;
    else if (typed === WILDCARD && (previous === WILDCARD || previous?.startsWith(`${WILDCARD} `))) {
      tokens[last] = WILDCARD;
    } else tokens.push(typed);
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
