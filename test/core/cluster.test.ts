import { clusterMessages, maskMessage } from '@incident-pilot/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Jul', 'Dec'];
const EVENTS = ['payment declined', 'payment accepted', 'card expired', 'db timeout'];

/** `[count, template]` pairs, most frequent first. */
const shape = (messages: readonly string[]) => clusterMessages(messages).map((t) => [t.count, t.template]);

describe('maskMessage', () => {
  it.each([
    ['numbers', 'upstream timeout request 4182', 'upstream timeout request <*>'],
    ['decimals and versions', 'took 12.5 s on v2.3.1', 'took <*> s on <*>'],
    ['UUIDs', 'order 3f2b8c1e-9d4a-4b7e-8f00-1a2b3c4d5e6f not found', 'order <*> not found'],
    ['IPv4 with port', 'connect to 10.0.12.7:5432 refused', 'connect to <*> refused'],
    ['hex literals', 'segfault at 0x7ffe12ab', 'segfault at <*>'],
    ['bare hex ids', 'span 9f3c2ab1d4e5 failed', 'span <*> failed'],
    ['paths', 'cannot open /var/lib/app/data.db', 'cannot open <*>'],
    ['Windows paths', 'loaded C:\\Windows\\system32\\x.dll', 'loaded <*>'],
    ['emails', 'mail to ops@example.com bounced', 'mail to <*> bounced'],
    ['URLs', 'GET https://api.example.com/v1/users?id=7 failed', 'GET <*> failed'],
    ['ISO timestamps', 'lease expired at 2026-11-25T03:59:01.056Z', 'lease expired at <*>'],
    ['ctime dates', 'Fri Jul  1 07:57:30 2005 connection from peer', '<*> connection from peer'],
    ['syslog dates', 'last seen Dec 10 06:55:46', 'last seen <*>'],
    [
      'only the variable part of a token',
      'blk_-123 id=42 host:8080 attempt_14_0020_m_2',
      'blk_-<*> id=<*> host:<*> attempt_<*>_m_<*>',
    ],
    ['a quoted value of a key, whatever its words', 'acquire tag="View Lock" ok', 'acquire tag=<*> ok'],
    [
      'the path and version of a quoted request, not its method',
      '"GET /x HTTP/1.1" served',
      '"GET <*> HTTP/<*>" served',
    ],
    ['a list without spaces', 'acls to: yarn,curi', 'acls to: <*>'],
    [
      'the values of a JSON line, not its message',
      '{"level":"error","msg":"payment declined","order_id":"a1","amount":12.5}',
      '{"level":<*>,"msg":"payment declined","order_id":<*>,"amount":<*>}',
    ],
    [
      'the values of a logfmt line, not its message',
      'level=error msg="db timeout" duration=1.5s user=alice',
      'level=error msg="db timeout" duration=<*> user=alice',
    ],
    [
      'a list of ids of any length as one variable',
      'failed to reserve [sku-313, sku-241] after blk_-1 blk_2 blk_-3',
      'failed to reserve <*> after <*>',
    ],
    ['items of one list however their punctuation falls', 'moved x-1-y xy-2 to z', 'moved <*> to z'],
    [
      'ids of different names apart, one name the start of another or in another case',
      'reserve sku-1 skus-2 SKU-3 ord-4 now',
      'reserve sku-<*> skus-<*> SKU-<*> ord-<*> now',
    ],
    ['digits and punctuation, however mixed, as one variable', 'at 10.0.0.1:80 (12) -3 then 4.5s', 'at <*> then <*>'],
    ['a number with its unit as one variable', 'took 12 ms, then 3 s', 'took <*> ms, then <*> s'],
    [
      'a size in two units and a list as one variable each',
      'sent 1190 bytes (1.16 KB) to 1, 2, 3',
      'sent <*> KB) to <*>',
    ],
  ])('masks %s', (_name, message, expected) => {
    expect(maskMessage(message)).toBe(expected);
  });

  it.each([
    ['words with apostrophes', "can't reach db, won't retry"],
    ['names with a short number suffix', 'link up on eth0 via ssh2'],
    ['month names that are not dates', 'May the force be with you'],
  ])('keeps %s', (_name, message) => {
    expect(maskMessage(message)).toBe(message);
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

  // The failure classes of statistical log parsers: each case fails when its mechanism breaks.
  it.each<{ name: string; messages: string[]; expected: [number, string][] }>([
    {
      name: 'partly masked tokens count as variable, also as the first token',
      messages: [
        ...USERS.map((_, i) => `req_${i}a worker-${i} handled id=${i * 7} host:${8000 + i}`),
        ...USERS.map((_, i) => `${i % 2 ? 'job' : 'task'}_${i} started`),
      ],
      expected: [
        [8, 'req_<*> worker-<*> handled id=<*> host:<*>'],
        [8, '<*> started'],
      ],
    },
    {
      name: 'word values (user names) vary, event words (opened / closed) split',
      messages: USERS.flatMap((u) => [`session opened for user ${u}`, `session closed for user ${u}`]),
      expected: [
        [8, 'session opened for user <*>'],
        [8, 'session closed for user <*>'],
      ],
    },
    {
      name: 'a rare event word next to a frequent one still splits',
      messages: [
        ...USERS.map((u) => `Failed password for ${u} from 10.0.0.1`),
        'Accepted password for root from 10.0.0.2',
      ],
      expected: [
        [8, 'Failed password for <*> from <*>'],
        [1, 'Accepted password for root from <*>'],
      ],
    },
    {
      name: 'a few word values seen once each are values, not event words',
      messages: ['Finder', 'sharingd', 'bluetoothd'].map((name) => `icon cache rebuilt for ${name} after wake`),
      expected: [[3, 'icon cache rebuilt for <*> after wake']],
    },
    {
      name: 'values of one key stay one column however few they are',
      messages: USERS.slice(0, 2).flatMap((u) => [`login ok user=${u}`, `login ok user=${u}`]),
      expected: [[4, 'login ok user=<*>']],
    },
    {
      name: 'quoted requests keep their method',
      messages: USERS.flatMap((u, i) => [
        `"GET /api/${u}/items HTTP/1.1" status: ${200 + i} len: ${i * 13}`,
        `"POST /api/${u} HTTP/1.1" status: 201 len: ${i}`,
      ]),
      expected: [
        [8, '"GET <*> HTTP/<*>" status: <*> len: <*>'],
        [8, '"POST <*> HTTP/<*>" status: <*> len: <*>'],
      ],
    },
    {
      name: 'ctime dates',
      messages: USERS.map(
        (u, i) => `${WEEKDAYS[i % 7]} ${MONTHS[i % 3]}  ${i + 1} 0${i}:57:30 2005 connection from ${u}`,
      ),
      expected: [[8, '<*> connection from <*>']],
    },
    {
      name: 'lists of values of any length',
      messages: USERS.map(
        (u, i) => `released ports ${Array.from({ length: i + 1 }, (_, k) => k * 3).join(', ')} for ${u}`,
      ),
      expected: [[8, 'released ports <*> for <*>']],
    },
    {
      name: 'punctuation glued to values',
      messages: USERS.map((u, i) => `login failed for (${u}), retrying: attempt ${i}.`),
      expected: [[8, 'login failed for <*> retrying: attempt <*>']],
    },
    {
      name: 'values spanning a different number of tokens',
      messages: USERS.map(
        (u, i) => `sent ${i * 1000} bytes${i % 2 ? ` (${i}.5 KB)` : ''} to ${u} in ${i} ms tag="${'x '.repeat(i)}"`,
      ),
      expected: [[8, 'sent <*> to <*> in <*> ms tag=<*>']],
    },
    {
      name: 'the message of a JSON line is its event, its other fields are values',
      messages: USERS.flatMap((u, i) =>
        EVENTS.map((msg) => JSON.stringify({ level: 'error', msg, user: u, amount: i + 0.5 })),
      ),
      expected: EVENTS.map((msg): [number, string] => [8, `{"level":<*>,"msg":"${msg}","user":<*>,"amount":<*>}`]),
    },
    {
      name: 'the message of a JSON line is its event, also with spaces after the separators',
      messages: USERS.flatMap((_, i) =>
        ['payment declined', 'card expired', 'db timeout', 'token invalid'].map(
          (msg) => `{"level": "error", "service": "payments", "msg": "${msg}", "order": ${i}}`,
        ),
      ),
      expected: ['payment declined', 'card expired', 'db timeout', 'token invalid'].map((msg): [number, string] => [
        8,
        `{"level": "error", "service": "payments", "msg": "${msg}", "order": <*>`,
      ]),
    },
    {
      name: 'the message and error of a logfmt line are its event, whatever their words',
      messages: USERS.flatMap((u, i) => [
        ...EVENTS.map((msg) => `level=error msg="${msg}" user=${u} took=${i}ms`),
        `level=error msg="query failed" err="dial tcp 10.0.0.${i}:5432: connect: connection refused" user=${u}`,
        `level=error msg="query failed" err="read tcp 10.0.0.${i}:5432: connection reset by peer" user=${u}`,
      ]),
      expected: [
        ...EVENTS.map((msg): [number, string] => [8, `level=error msg="${msg}" user=<*> took=<*>`]),
        [8, 'level=error msg="query failed" err="dial tcp <*> connect: connection refused" user=<*>'],
        [8, 'level=error msg="query failed" err="read tcp <*> connection reset by peer" user=<*>'],
      ],
    },
    {
      name: 'quoted input of any number of words',
      messages: USERS.map(
        (u, i) =>
          `search failed for query "${Array.from({ length: (i % 4) + 1 }, () => u).join(' ')}": index not ready`,
      ),
      expected: [[8, 'search failed for query <*> index not ready']],
    },
    {
      name: 'lists of ids of any length',
      messages: USERS.map(
        (_, i) =>
          `failed to reserve [${Array.from({ length: (i % 4) + 1 }, (_, k) => `sku-${i * 10 + k}`).join(', ')}] for order ${i}`,
      ),
      expected: [[8, 'failed to reserve <*> for order <*>']],
    },
    {
      name: 'names that differ only in a number are values, other names ending in one are words',
      messages: [0, 1, 2, 0, 1].flatMap((n) => [
        `cpu${n} went offline`,
        `link up on interface ${n % 2 ? 'ee0' : 'alt0'}`,
      ]),
      expected: [
        [5, '<*> went offline'],
        [3, 'link up on interface alt0'],
        [2, 'link up on interface ee0'],
      ],
    },
    {
      name: 'different first words',
      messages: ['timeout calling payments 1', 'retrying calling payments 2', 'timeout calling payments 3'],
      expected: [
        [2, 'timeout calling payments <*>'],
        [1, 'retrying calling payments <*>'],
      ],
    },
    {
      name: 'different lengths',
      messages: ['connection reset by peer', 'connection reset'],
      expected: [
        [1, 'connection reset by peer'],
        [1, 'connection reset'],
      ],
    },
  ])('$name', ({ messages, expected }) => {
    expect(shape(messages)).toEqual(expected);
  });

  describe('error lines of services', () => {
    const javaFrames = (depth: number) =>
      Array.from({ length: depth }, (_, k) => `\n\tat com.acme.orders.Step${k}.run(Step${k}.java:${40 + k})`).join('');
    // A goroutine dump: a function line, then its file and offset indented by a tab.
    const goroutine = (depth: number) =>
      `\n\ngoroutine ${depth} [running]:${Array.from({ length: depth }, (_, k) => `\nmain.(*Server).step${k}(0xc000010000, {0x0, 0x0})\n\t/app/server.go:${40 + k} +0x1d`).join('')}`;
    const phpFrames = (depth: number) =>
      `${Array.from({ length: depth }, (_, k) => `\n#${k} /var/www/src/Step${k}.php(${12 + k}): Step${k}->run()`).join('')}\n#${depth} {main}`;
    // Ruby quotes the method `like this' before 3.4, 'like this' since.
    const rubyFrames = (depth: number, quote = "'") =>
      Array.from({ length: depth }, (_, k) => `\n\tfrom /app/lib/step${k}.rb:${12 + k}:in ${quote}run'`).join('');

    it.each<{ name: string; messages: string[]; expected: [number, string][] }>([
      {
        name: 'one template per exception, whatever the depth of its stack trace; `Caused by:` stays',
        messages: [1, 2, 3, 5, 8].flatMap((depth) => [
          `Request to inventory failed\njava.net.SocketTimeoutException: Read timed out${javaFrames(depth)}`,
          `Transaction rolled back\njava.sql.SQLException: pool exhausted${javaFrames(depth)}\nCaused by: java.net.ConnectException: Connection refused${javaFrames(depth)}\n\t... ${depth + 9} more`,
        ]),
        expected: [
          [5, 'Request to inventory failed java.net.SocketTimeoutException: Read timed out'],
          [
            5,
            'Transaction rolled back java.sql.SQLException: pool exhausted Caused by: java.net.ConnectException: Connection refused',
          ],
        ],
      },
      {
        name: 'Python tracebacks and Node stacks of any depth: the exception line is the event',
        messages: [1, 2, 4].flatMap((depth) => [
          `Traceback (most recent call last):${'\n  File "/app/handlers.py", line 12, in handle\n    return load(payload)'.repeat(depth)}\nKeyError: 'order_id'`,
          `TypeError: Cannot read properties of undefined${'\n    at OrderService.place (/app/dist/orders.js:41:7)'.repeat(depth)}`,
        ]),
        expected: [
          [3, "Traceback (most recent call last): KeyError: 'order_id'"],
          [3, 'TypeError: Cannot read properties of undefined'],
        ],
      },
      {
        name: 'Go panics and errors with a goroutine dump of any depth: the message and `[signal …]` stay',
        messages: [1, 2, 4].flatMap((depth) => [
          `panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a3b2c]${goroutine(depth)}\nexit status 2`,
          `failed to serve: context deadline exceeded${goroutine(depth)}`,
        ]),
        expected: [
          [
            3,
            'panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code=<*> addr=<*> pc=<*>] exit status <*>',
          ],
          [3, 'failed to serve: context deadline exceeded'],
        ],
      },
      {
        name: 'Go stacks without a goroutine line (pkg/errors `%+v`, zap console), also escaped in JSON',
        messages: [1, 2, 4].flatMap((depth) => {
          const frames = Array.from(
            { length: depth },
            (_, k) =>
              `\ngithub.com/acme/orders/internal/store.(*Store).step${k}\n\t/app/internal/store/step${k}.go:${40 + k}`,
          ).join('');
          return [
            `load order: sql: no rows in result set${frames}`,
            JSON.stringify({ level: 'error', msg: 'checkout failed', error: `payment declined${frames}` }),
          ];
        }),
        expected: [
          [3, 'load order: sql: no rows in result set'],
          [3, '{"level":<*>,"msg":"checkout failed","error":"payment declined"}'],
        ],
      },
      {
        name: "Go stacks without a goroutine line, with a dump's `+0x…` or CRLF line ends",
        messages: [1, 2, 4].flatMap((depth) => {
          const frames = (end: string) =>
            Array.from(
              { length: depth },
              (_, k) => `${end}main.step${k}${end}\t/app/step${k}.go:${40 + k} +0x${(37 + k).toString(16)}`,
            ).join('');
          return [`checkout failed${frames('\n')}`, `checkout failed${frames('\r\n')}`];
        }),
        expected: [[6, 'checkout failed']],
      },
      {
        name: 'PHP traces of any depth; `thrown in` and `Next` stay',
        messages: [1, 2, 4].flatMap((depth) => [
          `PHP Fatal error:  Uncaught RuntimeException: boom in /var/www/src/Foo.php:12\nStack trace:${phpFrames(depth)}\n  thrown in /var/www/src/Foo.php on line 12`,
          `PDOException: SQLSTATE[HY000] [2002] Connection refused${phpFrames(depth)}\nNext RuntimeException: db down${phpFrames(depth)}`,
        ]),
        expected: [
          [3, 'PHP Fatal error: Uncaught RuntimeException: boom in <*> Stack trace: thrown in <*> on line <*>'],
          [3, 'PDOException: SQLSTATE[<*>] <*> Connection refused Next RuntimeException: db down'],
        ],
      },
      {
        name: 'Ruby traces of any depth, the first frame on the message line or the next',
        messages: [0, 1, 3].flatMap((depth) => [
          `/app/lib/orders.rb:12:in 'Orders#load': undefined method 'total' for nil (NoMethodError)${rubyFrames(depth)}`,
          `/app/lib/cart.rb:7:in \`sum': stale cart (Cart::Stale)${rubyFrames(depth, '`')}`,
          // Ruby's Logger: message and class, then one frame a line, unindented.
          `connection refused (Redis::CannotConnectError)\n/app/lib/cache.rb:3:in 'fetch'${rubyFrames(depth).replaceAll('\tfrom ', '')}`,
        ]),
        expected: [
          [3, "<*> 'Orders#load': undefined method 'total' for nil (NoMethodError)"],
          [3, "<*> `sum': stale cart (Cart::Stale)"],
          [3, 'connection refused (Redis::CannotConnectError)'],
        ],
      },
      {
        name: 'error codes split however many there are',
        messages: ['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].flatMap((code) =>
          [1, 2].map((k) => `Error: connect ${code} 10.0.0.${k}:443`),
        ),
        expected: [
          [2, 'Error: connect ECONNREFUSED <*>'],
          [2, 'Error: connect ETIMEDOUT <*>'],
          [2, 'Error: connect EHOSTUNREACH <*>'],
          [2, 'Error: connect ENETUNREACH <*>'],
          [2, 'Error: connect ECONNRESET <*>'],
        ],
      },
      {
        name: 'exception classes in the middle of a line split however many there are',
        messages: ['SocketTimeoutException', 'ConnectException', 'EOFException', 'SSLHandshakeException'].flatMap((e) =>
          USERS.slice(0, 5).map((u) => `call for ${u} failed with java.net.${e} after retries`),
        ),
        expected: [
          [5, 'call for <*> failed with java.net.SocketTimeoutException after retries'],
          [5, 'call for <*> failed with java.net.ConnectException after retries'],
          [5, 'call for <*> failed with java.net.EOFException after retries'],
          [5, 'call for <*> failed with java.net.SSLHandshakeException after retries'],
        ],
      },
      {
        name: 'Chinese and Japanese messages with numbers glued to their words',
        messages: [1, 2].flatMap((k) => [
          `订单${k * 7}支付失败`,
          `商品${k * 7}库存不足`,
          `ユーザー${k * 7}の認証に失敗しました`,
        ]),
        expected: [
          [2, '订单 <*> 支付失败'],
          [2, '商品 <*> 库存不足'],
          [2, 'ユーザー <*> の認証に失敗しました'],
        ],
      },
    ])('$name', ({ messages, expected }) => {
      expect(shape(messages)).toEqual(expected);
    });

    it('leaves out a stack trace inside a JSON or logfmt string, its line breaks escaped', () => {
      expect(
        maskMessage(String.raw`{"msg":"unhandled","error":"TypeError: x\n    at f (/a.js:1:2)\n    at g (/b.js:3:4)"}`),
      ).toBe('{"msg":"unhandled","error":"TypeError: x"}');
      expect(
        maskMessage(
          String.raw`msg="job failed" err="Traceback (most recent call last):\n  File \"/app/x.py\", line 3, in f\n    g()\nKeyError: 'id'"`,
        ),
      ).toBe(String.raw`msg="job failed" err="Traceback (most recent call last):\nKeyError: 'id'"`);
      // Java's frames are indented with a tab, which JSON and logfmt escape as `\t`.
      const java = `java.sql.SQLException: pool exhausted${javaFrames(2)}\nCaused by: java.net.ConnectException: refused${javaFrames(3)}\n\t... 9 more`;
      expect(maskMessage(JSON.stringify({ msg: 'payment failed', error: java }))).toBe(
        String.raw`{"msg":"payment failed","error":"java.sql.SQLException: pool exhausted\nCaused by: java.net.ConnectException: refused"}`,
      );
    });

    it('leaves out an escaped Go, PHP or Ruby trace, and keeps the lines around it', () => {
      const go = `panic: boom\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a3b2c]${goroutine(3)}`;
      const php = `PDOException: connection refused\nStack trace:${phpFrames(3)}\nNext RuntimeException: db down`;
      const ruby = `RuntimeError: boom\n/app/lib/orders.rb:12:in 'Orders#load'${rubyFrames(3)}`;

      expect(maskMessage(JSON.stringify({ msg: 'worker crashed', error: go }))).toBe(
        String.raw`{"msg":"worker crashed","error":"panic: boom\n[signal SIGSEGV: segmentation violation code=<*> addr=<*> pc=<*>]"}`,
      );
      expect(maskMessage(`msg="request failed" exception=${JSON.stringify(php)}`)).toBe(
        String.raw`msg="request failed" exception="PDOException: connection refused\nStack trace:\nNext RuntimeException: db down"`,
      );
      expect(maskMessage(JSON.stringify({ msg: 'job failed', err: ruby }))).toBe(
        '{"msg":"job failed","err":"RuntimeError: boom"}',
      );
    });

    // Log lines are untrusted input: typing one (looking for a trace, a key's quoted value) must stay linear
    // in the line, whatever it holds.
    // Each of these took over 2 s (quadratic backtracking); linear, they take a few milliseconds, so the bound
    // (not a speed target) leaves a wide margin for a loaded machine.
    it.each([
      [
        'many escaped tabs before a long word',
        JSON.stringify({ err: `boom\n${'\t'.repeat(20_000)}${'a'.repeat(20_000)}` }),
      ],
      ['a literal `\\n` many times after a line break', JSON.stringify({ err: `boom\n${'\\n'.repeat(20_000)}` })],
      // Not a trace: the quoted value of a key, looked for from every letter of the word.
      ['a quote before one long word', `"${'a'.repeat(40_000)}`],
      // A line under another, read as a Go frame's file line: its indent and its file are not to share a run.
      ['many spaces under a line', `boom\nf\n${' '.repeat(60_000)}`],
      ['many spaces under a line, escaped', JSON.stringify({ err: `boom\nf\n${' '.repeat(60_000)}` })],
    ])('types a hostile line in linear time: %s', (_name, line) => {
      const started = performance.now();
      maskMessage(line);
      expect(performance.now() - started).toBeLessThan(1000);
    });

    it('leaves out a trace escaped twice (an error body quoted in a JSON line), one template for any depth', () => {
      const frames = (depth: number) =>
        Array.from({ length: depth }, (_, k) => `\n    at step${k} (/app/step${k}.js:1:2)`).join('');
      const messages = [1, 2, 4].map((depth) =>
        JSON.stringify({ msg: 'upstream failed', error: JSON.stringify({ error: `TypeError: x${frames(depth)}` }) }),
      );

      expect(clusterMessages(messages)).toHaveLength(1);
    });

    it('keeps indented lines that are not a stack trace', () => {
      expect(maskMessage('{\n  "msg": "db timeout",\n  "user": "bob"\n}')).toBe(
        '{ "msg": "db timeout", "user": "bob" }',
      );
    });

    it.each([
      ['a single-line message, even one shaped as a frame', "/app/lib/orders.rb:12:in 'load'", "<*> 'load'"],
      ['a single-line message that starts with `#0`', '#0 /var/www/src/Foo.php(12): Foo->bar()', '<*> Foo->bar()'],
      ['a `#1` inside a line', 'retry #1 failed\nretry #2 failed', 'retry <*> failed retry <*> failed'],
      ['numbered lines that do not start at `#0`', 'queue:\n#1 billing\n#2 search', 'queue: <*> billing <*> search'],
      ['a line that only mentions a goroutine', 'stopping\ngoroutine 7 exited', 'stopping goroutine <*> exited'],
      [
        'an indented line naming a Go file that no function line opens',
        'vet:\n\tmain.go:12: unreachable',
        'vet: main.go:<*>: unreachable',
      ],
      [
        'an indented `file.go:<n>:` line with more text on it, under another line (a Go test failure)',
        'tests failed\n--- FAIL: TestCharge (0.00s)\n    charge_test.go:42: got 500, want 200',
        'tests failed --- FAIL: TestCharge <*> charge_test.go:<*>: got <*> want <*>',
      ],
      [
        'an indented line with more text after a Go file, under a word',
        'lint failed\nvet:\n\tmain.go:12: unreachable code',
        'lint failed vet: main.go:<*>: unreachable code',
      ],
      ['SQL with a lower-case `from`', 'slow query:\n  select id\n  from orders', 'slow query: select id from orders'],
      [
        'a Ruby frame with more text after it on its line',
        "job failed\n/app/lib/orders.rb:12:in 'load': boom (RuntimeError)",
        "job failed <*> 'load': boom (RuntimeError)",
      ],
    ])('keeps %s', (_name, message, expected) => {
      expect(maskMessage(message)).toBe(expected);
    });

    it('keeps a path or URL with Chinese or Japanese in it one variable, as any other', () => {
      const messages = [
        '上传文件 /uploads/合同/2024.pdf 失败',
        '上传文件 /uploads/报告/第3季度.pdf 失败',
        '上传文件 C:\\用户\\bob\\a.txt 失败',
        '上传文件 https://example.com/搜索?q=1 失败',
      ];

      expect(messages.map((m) => maskMessage(m))).toEqual(Array(4).fill('上传文件 <*> 失败'));
    });
  });

  it('keeps apart rare events that share only their first words, as Drain does', () => {
    const words =
      'amber birch cedar delta ember fjord grove harbor iris juniper kestrel lagoon meadow nectar opal prairie quartz raven sierra tundra umber violet willow xenon yarrow zephyr'.split(
        ' ',
      );
    // 30 events `Failed to a b c`: each `a` is its own, `b` and `c` are shared with other events.
    const events = Array.from(
      { length: 30 },
      (_, k) => `${words[k % 26]}${k < 26 ? '' : 'ish'} ${words[(k * 7 + 3) % 26]} ${words[(k * 11 + 5) % 26]}`,
    );
    const messages = events.flatMap((rest, k) => Array.from({ length: 1 + (k % 5) }, () => `Failed to ${rest}`));

    const templates = clusterMessages(messages);

    expect(templates).toHaveLength(30);
    for (const t of templates) expect(new Set(t.indices.map((i) => messages[i]))).toEqual(new Set([t.template]));
  });

  it('orders templates by count, then first occurrence', () => {
    expect(shape(['a failed', 'b broke down', 'b broke down', 'c done', 'a failed'])).toEqual([
      [2, 'a failed'],
      [2, 'b broke down'],
      [1, 'c done'],
    ]);
  });

  it('handles empty and whitespace-only messages', () => {
    expect(shape(['', '   ', 'x'])).toEqual([
      [2, ''],
      [1, 'x'],
    ]);
  });

  it('partitions the input: every index in exactly one template, ascending', () => {
    const word = fc.constantFrom(
      'timeout',
      'user',
      'request',
      'failed',
      'db',
      'retry',
      '42',
      '0xff',
      '/tmp/a',
      'a=1',
      'b=x',
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.array(word, { maxLength: 6 }).map((ws) => ws.join(' ')),
          { maxLength: 60 },
        ),
        fc.integer({ min: 2, max: 6 }),
        (msgs, maxTemplates) => {
          const templates = clusterMessages(msgs, { maxTemplates });
          const indices = templates.flatMap((t) => t.indices);
          expect(indices.sort((a, b) => a - b)).toEqual(msgs.map((_, i) => i));
          expect(templates.length).toBeLessThanOrEqual(maxTemplates);
          for (const t of templates) {
            expect(t.count).toBe(t.indices.length);
            expect(t.indices).toEqual([...t.indices].sort((a, b) => a - b));
          }
        },
      ),
    );
  });

  it('is deterministic', () => {
    const messages = USERS.flatMap((u, i) => [`x ${i}`, `y failed at ${u}`, `session opened for ${u}`, 'z']);

    expect(clusterMessages(messages)).toEqual(clusterMessages([...messages]));
  });

  it('joins a template of a later chunk to the one it generalises', () => {
    // Only alice in the first 16,384 lines; many users after.
    const messages = Array.from(
      { length: 20_000 },
      (_, i) => `job ${i} done for ${i < 16_384 ? 'alice' : USERS[i % 8]}`,
    );

    expect(shape(messages)).toEqual([[20_000, 'job <*> done for <*>']]);
  });

  it('folds the templates with the fewest lines into `<*>` beyond maxTemplates', () => {
    const messages = ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'c', 'c', 'd'].map((w) => `${w}x happened`);

    expect(clusterMessages(messages)).toHaveLength(4);
    expect(clusterMessages(messages, { maxTemplates: 3 }).map((t) => [t.count, t.template, t.indices])).toEqual([
      [4, 'ax happened', [0, 1, 2, 3]],
      [3, 'bx happened', [4, 5, 6]],
      [3, '<*>', [7, 8, 9]],
    ]);
  });

  it('keeps the template count bounded on a long input of distinct lines, across chunks', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const word = (n: number) => Array.from({ length: 4 }, (_, k) => letters[Math.floor(n / 26 ** k) % 26]).join('');
    const messages = Array.from({ length: 40_000 }, (_, i) => `${word(i)} ${word(i * 7 + 3)} ${word(i * 13 + 5)}`);

    const templates = clusterMessages(messages, { maxTemplates: 50 });

    expect(templates).toHaveLength(50);
    expect(templates.reduce((sum, t) => sum + t.count, 0)).toBe(messages.length);
  });
});
