/**
 * Token typing for log template mining: split a message on whitespace and replace what is certainly
 * variable — anything holding a digit, paths, URLs, addresses, dates — with `<*>`, token by token, so the
 * grouping only has to decide about plain words. Structured lines (JSON, logfmt) keep the words of their
 * message (`msg`, `error`, ...) and have their other quoted values masked; each field of a compact JSON
 * object is a token.
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
// A quoted value of a key (`tag="View Lock"`, JSON `"user":"bob"`), the key's name captured. The name
// starts where a word does: tried from inside a long word too, it was read to the word's end from every
// character of it, quadratic in a hostile line (a `"` and 8,000 letters took 150 ms).
const QUOTED_VALUE = /((?<![\w.-])[A-Za-z_][\w.-]*)?("?[=:])(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g;
// Where a compact JSON object's next field starts: `,"key":`.
const JSON_FIELD = /,(?="[A-Za-z_][\w.-]*":)/g;
// A JSON field split off by `tokenize` (` ,"key":`), glued back to the token before it in a template.
const GLUED_FIELD = / ,"(?=[A-Za-z_][\w.-]*":)/g;
// A quoted run of several plain words (no digits, paths, quotes or variables) standing on its own:
// `query "red shoes":`, `code 'spring sale'`.
const QUOTED_WORDS = /(["'])(?<=(?:^|[\s([{])["'])[^\s"'\d/@\\=<>*]+(?:\s+[^\s"'\d/@\\=<>*]+)+\1(?=[\s,.;:!?)\]}]|$)/g;
// What stands for a space inside a quoted run while the text is split on white space.
const QUOTED_SPACE = '\u001f';
// The key of a message field just before a quoted run: `"msg": `, `error: `.
const KEY_BEFORE = /(?:^|[\s{,])"?([A-Za-z_][\w.-]*)"?[=:]\s*$/;
// Names of the fields that hold a structured line's message or error text (`msg`, `error.message`,
// `err_msg`; `event` is structlog's).
const MESSAGE_KEYS = new Set([
  'msg',
  'message',
  'err',
  'error',
  'errmsg',
  'errormsg',
  'errormessage',
  'exception',
  'event',
]);
// A path or URL: starts with `/`, `./`, `~/`, a drive letter, a scheme, or has two or more (back)slashes.
const PATH = /^[("'[<{]*(?:\.{0,2}\/|~\/|[A-Za-z]:\\|[A-Za-z][\w+.-]*:\/\/)|\/[^/]*\/|\\[^\\]*\\/;
const EMAIL = /[\w.+-]@[\w-]+\./;
/**
 * A stack trace inside a multi-line message, its frames told by how they start a line, never by a
 * language setting; built for a line break `br`, an indenting character `indent` and any other character
 * of a line `char`. What is not a frame stays: the message line above, and a line after the frames that
 * starts otherwise (`Caused by: ...`, Python's `KeyError: 'id'`, PHP's `Next ...` and indented `thrown in`,
 * `exit status 2` under a Go dump). Go's `[signal SIGSEGV: ...]` stays too: it names the fault, and its
 * addresses are masked as any are. So does a first Ruby frame that starts the message line
 * (`/app/foo.rb:12:in 'bar': boom (RuntimeError)`): without `from` lines it is a single line, never seen here.
 * Where a match can still fail after reading a line (Go's `goroutine` line or frame, a Ruby frame), that line is
 * read with `strict`, a `char` that never runs into the next line break: log lines are untrusted, and a
 * line read on to the end of the text from every break of it is quadratic.
 */
function stackTrace(br: string, indent: string, char: string, strict = char): RegExp {
  const c = `(?:${char})`;
  const s = `(?:${strict})`;
  const line = `${c}*`;
  // A Go frame: a function line, then its file and line indented under it and nothing else on that line
  // (`\t/app/main.go:12`; `+0x25` after it in a dump, a CR before the break), so `go test`'s
  // `    main_test.go:42: got 1, want 2` under a line stays. The file is one run of characters that are
  // neither space nor indent (nor a quote or a backslash, which end a line or start an escape): an indent
  // run that could be read as the file too would be split every way between the two, quadratic.
  const goFrame = `(?!${indent})${s}+${br}${indent}+[^\\s"\\\\]+\\.go:\\d+(?: \\+0x[\\da-f]+)?(?:\\r|\\\\r)?(?!${c})`;
  return new RegExp(
    `${br}(?:${[
      // An indented `at ` or `File "` line (`\tat com.foo.Bar.baz(Bar.java:42)` in Java, Kotlin and .NET,
      // `    at f (/app/a.js:1:2)` in Node, `  File "/app/x.py", line 3, in f` in Python) and the indented
      // lines after it (`... 12 more`, the source line Python quotes).
      String.raw`${indent}+(?:at |File \\?")${line}(?:${br}${indent}${line})*`,
      // Go's goroutine dump, with the blank line above it: `goroutine 1 [running]:`, then per frame a
      // function line and its file indented (`\t/app/main.go:12 +0x25`), or `...additional frames elided...`.
      String.raw`(?:${br})?goroutine \d+ ${s}*\]:(?:${br}${line}${br}${indent}${line}|${br}\.\.\.${line})*`,
      // Go frames without that line, as pkg/errors' `%+v` and zap's console encoder print a stack, told by
      // the `.go:<line>` of each frame's file.
      `${goFrame}(?:${br}${goFrame})*`,
      // PHP's numbered frames, unindented: `#0 /var/www/Foo.php(12): Foo->bar()` to `#3 {main}`.
      String.raw`#0 ${line}(?:${br}#\d+ ${line})*`,
      // A line that is one Ruby frame and nothing else: `\tfrom /app/foo.rb:12:in 'bar'` (a backtick opens
      // the quote before Ruby 3.4), Ruby 2.5–2.7's `\t2: from …`, or bare, as Ruby's Logger writes each frame.
      // Its first character is no indent: escaped, `\t` is both, and a line of many `\t` before a long word
      // would be split every way between the two.
      String.raw`${indent}*(?:(?:\d+: )?from )?(?!\s|${indent})(?:(?!\s)${s})+:\d+:in [\`'](?:(?!')${s})*'(?!${s})`,
    ].join('|')})`,
    'g',
  );
}
const STACK_TRACE = stackTrace(String.raw`\n`, String.raw`[ \t]`, String.raw`[^\n]`);
// Escaped, a line break is `\n`, an indent a space or `\t`, and a line ends at the string's closing quote.
// A `\n` inside `\\n` counts too: it is a line break of a JSON string inside the string. So a line read
// on from there could run past the real line breaks (`\\` is one character to it); a strict line stops
// at any backslash before an `n` or another backslash.
const ESCAPED_STACK_TRACE = stackTrace(
  String.raw`\\n`,
  String.raw`(?:[ \t]|\\t)`,
  String.raw`[^"\\]|\\[^n]`,
  String.raw`[^"\\]|\\[^n\\]`,
);
// A run of non-space characters, from `lastIndex`, that holds a `/`, `@` or `\`: a path, URL or email.
const PATH_RUN = /[^\s/@\\]*[/@\\]/y;

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
 * Whether a character is of a script written without spaces between words — Chinese, Japanese, Korean,
 * their punctuation and full-width forms — where a change to or from Latin letters and digits is the
 * only sign of a word boundary.
 */
const isCjk = (c: number) =>
  (c >= 0x2e80 && c <= 0x9fff) ||
  (c >= 0xac00 && c <= 0xd7af) ||
  (c >= 0xf900 && c <= 0xfaff) ||
  (c >= 0xff00 && c <= 0xffef);

/** Whether the run of non-space characters at `start` is a path, URL or email (`/uploads/合同/2024.pdf`). */
function isPathRun(text: string, start: number): boolean {
  PATH_RUN.lastIndex = start;
  return PATH_RUN.test(text);
}

/**
 * The typed form of one whitespace-separated token: itself, partly masked (`id=<*>`), or `<*>`. The
 * caller has scanned it: whether it holds a digit, an ASCII letter, and a `/`, `@`, `\` or a comma
 * before its end.
 */
function typeToken(token: string, digits: boolean, letters: boolean, special: boolean): string {
  if (special && (PATH.test(token) || EMAIL.test(token) || LIST.test(token))) return WILDCARD;
  if (!digits) return token;
  // Digits and punctuation only (`10.0.0.1:80`, `(12`): one variable, as the runs below would make it.
  if (!letters) return WILDCARD;
  // Runs of letters and digits that hold a digit are variables (`blk_123` → `blk_<*>`), unless a name
  // with a short number suffix; variables joined by punctuation only (`<*>.<*>:<*>`) are one. The text
  // between variables is copied in slices: `token[copied, i)` is still to be appended.
  let out = '';
  let copied = 0;
  // Whether a run is kept as it is: a word, or a name with a short number suffix.
  let kept = false;
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
      kept = true;
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
  // Nothing but variables and punctuation left (`3.5s`, `0x1f`): one variable.
  return kept ? out + token.slice(copied) : WILDCARD;
}

/**
 * Whether a key names a structured line's message or error text (`msg`, `message`, `err`,
 * `error.message`, `err_msg`, ...): its value is the event, in words, not a value.
 */
export function isMessageKey(key: string): boolean {
  return MESSAGE_KEYS.has(
    key
      .slice(key.lastIndexOf('.') + 1)
      .replace(/[_-]/g, '')
      .toLowerCase(),
  );
}

/** A token that is or contains a variable counts as variable for routing and similarity. */
export const isVariable = (token: string): boolean => token.includes(WILDCARD);

/**
 * Whether two partly masked tokens have the same ASCII letters, at least one (`[sku-<*>,` and `sku-<*>]`
 * have `sku`; `blk_-<*>` and `blk_<*>` have `blk`): consecutive tokens that do are items of one list.
 * Compared in place, without building either's letters: a message may hold many list items.
 */
function sameItemLetters(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  let matched = 0;
  for (;;) {
    while (i < a.length && !isLetter(a.charCodeAt(i))) i++;
    while (j < b.length && !isLetter(b.charCodeAt(j))) j++;
    if (i === a.length || j === b.length) return matched > 0 && i === a.length && j === b.length;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
    i++;
    j++;
    matched++;
  }
}

/**
 * Splits a message into typed tokens. `extraMasks` (global regexes) are replaced by `<*>` first.
 */
export function tokenize(message: string, extraMasks: readonly RegExp[] = []): string[] {
  // The frames of a stack trace follow the call path, not the event: their number varies from line to
  // line of one error (one template per depth), so they are left out.
  let text = message.includes('\n') ? message.replace(STACK_TRACE, '') : message;
  if (text.includes('\\n')) text = text.replace(ESCAPED_STACK_TRACE, '');
  // Whether some quoted words are to be one token.
  let spans = false;
  for (const mask of extraMasks) text = text.replace(mask, WILDCARD);
  if (HAS_MONTH.test(text)) text = text.replace(SPACED_DATE, WILDCARD);
  // A quoted value of a key (`tag="View Lock"`) is one variable however many words it has, unless it
  // is the message of a structured line (`msg="db timeout"`, `"error":"connection refused"`): words.
  if (text.includes('"') || text.includes("'")) {
    text = text.replace(QUOTED_VALUE, (quoted, key: string | undefined, separator: string) =>
      key && isMessageKey(key) ? quoted : `${key ?? ''}${separator}${WILDCARD}`,
    );
    // Each field of a compact JSON object is a token of its own, its comma first (`,"user":<*>`).
    if (text.includes(',"')) text = text.replace(JSON_FIELD, ' ,');
    // Quoted words (user input, names) are one token however many there are, so lines with different
    // inputs keep one length; the grouping then finds them to be values. Not the text of a message key.
    text = text.replace(QUOTED_WORDS, (quoted, _quote: string, offset: number, whole: string) => {
      const key = KEY_BEFORE.exec(whole.slice(Math.max(0, offset - 40), offset))?.[1];
      if (key && isMessageKey(key)) return quoted;
      spans = true;
      return quoted.replace(/\s+/g, QUOTED_SPACE);
    });
  }
  const tokens: string[] = [];
  // An item of the list the last token stands for, when it is a `<*>` made of list items.
  let listItem = '';
  // Whether the last token is partly masked by `typeToken` (`sku-<*>,`): maybe a list's first item.
  let lastPartly = false;
  // Whether the run being scanned is a path, URL or email; undefined until a change of script is met.
  let pathRun: boolean | undefined;
  // The runs between whitespace, as `text.split(/\s+/)` without its empty ends, scanned once for
  // what `typeToken` needs to know.
  for (let i = 0, end = 0; i < text.length; i = end) {
    const from = i;
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
    if (i > from) pathRun = undefined;
    if (i === text.length) break;
    let digits = false;
    let letters = false;
    let special = false;
    let commas = 0;
    let comma = -1;
    // A run of Chinese, Japanese or Korean text ends where Latin letters or digits start, and the
    // reverse: `订单12345支付失败` is `订单`, `12345`, `支付失败`, not one variable for the whole sentence.
    // Not in a path, URL or email: `/uploads/合同/2024.pdf` is one variable, as any other path.
    const cjk = isCjk(text.charCodeAt(i));
    for (end = i; end < text.length; end++) {
      const c = text.charCodeAt(end);
      // Letters first: most characters are.
      const letter = isLetter(c);
      const digit = !letter && isDigit(c);
      if (letter || digit ? cjk : !cjk && c >= 0x2e80 && isCjk(c)) {
        if (pathRun === undefined) pathRun = isPathRun(text, i);
        if (!pathRun) break;
      }
      if (letter) letters = true;
      else if (digit) digits = true;
      else if (c === 47 || c === 64 || c === 92) special = true;
      else if (c === 44) {
        commas++;
        comma = end;
      } else if (isSpace(c)) break;
    }
    // A comma counts only inside the token, not as its last character.
    if (commas > 1 || (commas === 1 && comma < end - 1)) special = true;
    const token = text.slice(i, end);
    let typed = typeToken(token, digits, letters, special);
    if (spans && typed.includes(QUOTED_SPACE)) typed = typed.replaceAll(QUOTED_SPACE, ' ');
    const last = tokens.length - 1;
    // Not `tokens[-1]`: reading before an array's start is a slow property lookup in V8.
    const previous = last >= 0 ? tokens[last] : undefined;
    // A variable may span several tokens: a number with its unit is one token that keeps the unit
    // (`<*> ms`, a variable still); consecutive variables (`1, 2, 3`, `12 bytes (1.2 KB)`) and items of
    // one list (`[sku-1, sku-2]`, `blk_1 blk_-2`) are one `<*>`.
    const partly = typed !== token && typed !== WILDCARD;
    // Only a partly masked token after another, or after a list, can be the next item of one.
    const item =
      partly &&
      (lastPartly ? sameItemLetters(typed, previous as string) : listItem !== '' && sameItemLetters(typed, listItem));
    if (previous === WILDCARD && UNITS.test(token)) tokens[last] = `${WILDCARD} ${token}`;
    else if (typed === WILDCARD && (previous === WILDCARD || previous?.startsWith(`${WILDCARD} `))) {
      tokens[last] = WILDCARD;
    } else if (item) {
      // A variable before the list joins it too.
      if (tokens[last - 1] === WILDCARD) tokens.pop();
      else tokens[last] = WILDCARD;
    } else {
      tokens.push(typed);
      lastPartly = partly;
      listItem = '';
      continue;
    }
    lastPartly = false;
    listItem = item ? typed : '';
  }
  return tokens;
}

/** Typed tokens as template text: joined by single spaces, a split-off JSON field glued back. */
export function joinTokens(tokens: readonly string[]): string {
  const text = tokens.join(' ');
  // Searching for `,"` finds no fewer fields than for ` ,"`, and sooner: commas are rarer than spaces.
  return text.includes(',"') ? text.replace(GLUED_FIELD, ',"') : text;
}

/**
 * Replaces the variable parts of a log message — numbers and anything holding a digit, paths, URLs,
 * emails, dates — with `<*>` and normalises whitespace. `extraMasks` (global regexes) run first.
 */
export function maskMessage(message: string, extraMasks: readonly RegExp[] = []): string {
  return joinTokens(tokenize(message, extraMasks));
}
