/**
 * Synthetic labelled logs for the log-clustering bench: each family is a list of events, each event a
 * weight and a generator, drawn in a seeded random order. They exercise the failure classes of
 * statistical parsers on shapes no benchmark system was tuned to: word values (users, hosts) beside event
 * words, partly masked tokens, quoted requests, ctime dates, lists and sizes spanning several tokens,
 * quoted multi-word values, structured lines (JSON, logfmt) whose message is the event, rare events that
 * share their first words, many rare events with word values, and services' error lines: stack traces,
 * error codes and exception classes, Chinese and Japanese text.
 */

type Rand = () => number;
type Event = [weight: number, make: (r: Pick) => string];

interface Pick {
  n: (max?: number) => number;
  of: <T>(items: readonly T[]) => T;
  skewed: <T>(items: readonly T[]) => T;
}

const USERS = ['root', 'news', 'cyrus', 'test', 'admin', 'guest', 'oracle', 'mysql', 'ftp', 'www'];
const WORDS =
  'amber birch cedar delta ember fjord grove harbor iris juniper kestrel lagoon meadow nectar opal prairie quartz raven sierra tundra umber violet willow xenon yarrow zephyr'.split(
    ' ',
  );
const MONTHS = ['Jan', 'Feb', 'Mar', 'Jun', 'Jul', 'Sep', 'Nov', 'Dec'];
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function pick(rand: Rand): Pick {
  return {
    n: (max = 100_000) => Math.floor(rand() * max),
    of: (items) => items[Math.floor(rand() * items.length)] as (typeof items)[number],
    // A few values dominate, as user names and hosts do in real logs.
    skewed: (items) => items[Math.floor(rand() ** 3 * items.length)] as (typeof items)[number],
  };
}

const ip = (p: Pick) => `${p.n(256)}.${p.n(256)}.${p.n(256)}.${p.n(256)}`;
const host = (p: Pick) => `${p.of(WORDS)}.${p.of(WORDS)}.example.net`;
const two = (n: number) => String(n).padStart(2, '0');
const ctime = (p: Pick) =>
  `${p.of(DAYS)} ${p.of(MONTHS)} ${String(1 + p.n(28)).padStart(2)} ${two(p.n(24))}:${two(p.n(60))}:${two(p.n(60))} 2005`;
const hex = (p: Pick, length: number) => Array.from({ length }, () => '0123456789abcdef'[p.n(16)]).join('');

const FIXED_FAMILIES: Record<string, Event[]> = {
  auth: [
    [20, (p) => `session opened for user ${p.skewed(USERS)} by (uid=${p.n(1000)})`],
    [20, (p) => `session closed for user ${p.skewed(USERS)}`],
    [
      15,
      (p) =>
        `authentication failure; logname= uid=${p.n(9)} euid=${p.n(9)} tty=NODEVssh ruser= rhost=${host(p)} user=${p.skewed(USERS)}`,
    ],
    [15, (p) => `authentication failure; logname= uid=${p.n(9)} euid=${p.n(9)} tty=NODEVssh ruser= rhost=${host(p)}`],
    [10, (p) => `connection from ${ip(p)} (${host(p)}) at ${ctime(p)}`],
    [10, (p) => `Failed password for ${p.skewed(USERS)} from ${ip(p)} port ${p.n(65536)} ssh2`],
    [0.1, (p) => `Accepted password for ${p.skewed(USERS)} from ${ip(p)} port ${p.n(65536)} ssh2`],
    [5, () => 'check pass; user unknown'],
    [5, (p) => `ALERT exited abnormally with [${p.n(3)}]`],
  ],
  proxy: [
    [30, (p) => `${host(p)}:${p.n(65536)} open through proxy proxy.${p.of(WORDS)}.example.net:${p.n(9000)} HTTPS`],
    [10, (p) => `${host(p)}:${p.n(65536)} open through proxy proxy.${p.of(WORDS)}.example.net:${p.n(9000)} SOCKS5`],
    [
      30,
      (p) => {
        const size = (n: number) => (n > 1024 ? `${n} bytes (${(n / 1024).toFixed(2)} KB)` : `${n} bytes`);
        const life = p.n(2) ? `${two(p.n(60))}:${two(p.n(60))}` : '<1 sec';
        return `${host(p)}:${p.n(65536)} close, ${size(p.n(1e6))} sent, ${size(p.n(1e6))} received, lifetime ${life}`;
      },
    ],
    [
      5,
      (p) =>
        `${host(p)}:${p.n(65536)} error : Could not connect through proxy proxy.example.net:${p.n(9000)} - Proxy server cannot establish a connection with the target, status code ${p.n(600)}`,
    ],
    [5, (p) => `${host(p)}:${p.n(65536)} error : A connection request was canceled before the completion.`],
  ],
  keyvalue: [
    [
      30,
      (p) =>
        `acquire lock=${p.n()}, flags=0x${hex(p, 1)}, tag="${Array.from({ length: 1 + p.n(3) }, () => p.of(WORDS)).join(' ')}", name=com.${p.of(WORDS)}.app, ws=null, uid=${p.n()}, pid=${p.n()}`,
    ],
    [
      30,
      (p) =>
        `release lock=${p.n()}, flags=0x${hex(p, 1)}, tag="${Array.from({ length: 1 + p.n(3) }, () => p.of(WORDS)).join(' ')}", name=com.${p.of(WORDS)}.app, ws=null, uid=${p.n()}, pid=${p.n()}`,
    ],
    [
      20,
      (p) =>
        `setSystemUiVisibility vis=${hex(p, 8)} mask=${hex(p, 8)} oldVal=${hex(p, 8)} newVal=${hex(p, 8)} diff=${hex(p, 8)}`,
    ],
    [
      10,
      (p) =>
        `onStepChanged total=${p.n()} delta=${p.n(50)} state=${p.of(['walking', 'idle', 'running', 'cycling', 'driving'])}`,
    ],
    [10, (p) => `getTodaySteps = ${p.n()}##${p.n()}##${p.n()}`],
  ],
  http: [
    [
      30,
      (p) => `${ip(p)} "GET /v2/${hex(p, 32)}/servers/detail HTTP/1.1" status: 200 len: ${p.n(5000)} time: 0.${p.n()}`,
    ],
    [
      10,
      (p) =>
        `${ip(p)} "POST /v2/${hex(p, 32)}/os-server-external-events HTTP/1.1" status: 200 len: ${p.n(5000)} time: 0.${p.n()}`,
    ],
    [
      5,
      (p) =>
        `${ip(p)} "DELETE /v2/${hex(p, 32)}/servers/${hex(p, 8)}-${hex(p, 4)} HTTP/1.1" status: 204 len: 0 time: 0.${p.n()}`,
    ],
    [
      10,
      (p) =>
        `[instance: ${hex(p, 8)}-${hex(p, 4)}-${hex(p, 4)}] VM ${p.of(['Started', 'Stopped', 'Paused', 'Resumed'])} (Lifecycle Event)`,
    ],
    [
      10,
      (p) =>
        `[instance: ${hex(p, 8)}-${hex(p, 4)}-${hex(p, 4)}] Took ${p.n(30)}.${p.n(99)} seconds to spawn the instance on the hypervisor.`,
    ],
    [
      10,
      (p) =>
        `[instance: ${hex(p, 8)}-${hex(p, 4)}-${hex(p, 4)}] Total disk: ${p.n(100)} GB, used: ${p.n(100)}.${p.n(99)} GB`,
    ],
    [5, (p) => `[instance: ${hex(p, 8)}-${hex(p, 4)}-${hex(p, 4)}] Creating image`],
  ],
  // A microservice's structured error lines: compact JSON (pino/zap style), JSON with spaces
  // (structlog), logfmt, and user input quoted in plain text. The event is the message (`msg`, `err`,
  // `event`); every other field is a value.
  structured: [
    ...['payment declined', 'card expired', 'upstream timeout'].map(
      (msg): Event => [
        10,
        (p) =>
          `{"level":"error","time":${1_790_000_000_000 + p.n(1e9)},"msg":"${msg}","order_id":"ord-${hex(p, 10)}","user":"${p.skewed(USERS)}","amount":${p.n(500)}.${p.n(99)}}`,
      ],
    ),
    ...['connection refused', 'context deadline exceeded'].map(
      (err): Event => [
        10,
        (p) =>
          `level=error msg="db query failed" err="${err}" table=${p.of(WORDS)} duration=${p.n(900)}ms user=${p.skewed(USERS)}`,
      ],
    ),
    [10, (p) => `level=error msg="cache unavailable" node=${host(p)} keys=${p.n(1000)}`],
    ...['job failed', 'job retried'].map(
      (event): Event => [
        5,
        (p) => `{"event": "${event}", "job": "${p.of(WORDS)}-sync", "attempt": ${p.n(5)}, "logger": "worker"}`,
      ],
    ),
    [
      10,
      (p) =>
        `search failed for query "${Array.from({ length: 1 + p.n(4) }, () => p.of(WORDS)).join(' ')}": index not ready`,
    ],
  ],
  // Many rare events of one length that share their first words and differ in all the rest.
  rare: Array.from({ length: 40 }, (_, k): Event => {
    const [a, b, c] = [`${WORDS[k % 26]}${k < 26 ? '' : 'ish'}`, WORDS[(k * 7 + 3) % 26], WORDS[(k * 11 + 5) % 26]];
    return [1 + (k % 5), () => `Failed to ${a} ${b} ${c}`];
  }),
};

const SERVICES = ['inventory', 'billing', 'search', 'profile', 'shipping', 'pricing', 'ledger', 'catalog'];
const JAVA_FRAMES = [
  'com.acme.orders.OrderService.place(OrderService.java:',
  'com.acme.orders.OrderController.post(OrderController.java:',
  'com.acme.http.RetryingClient.execute(RetryingClient.java:',
  'org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:',
  'org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:',
  'java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:',
  'java.base/java.lang.Thread.run(Thread.java:',
];
const NODE_FRAMES = [
  'OrderService.place (/app/dist/orders.js:',
  'Router.handle (/app/node_modules/express/lib/router/index.js:',
  'async Promise.all (index ',
  'processTicksAndRejections (node:internal/process/task_queues:',
];
const PYTHON_FRAMES = [
  ['/app/handlers.py', 'handle', 'return process(payload)'],
  ['/app/orders/service.py', 'process', 'order = repo.load(payload["order_id"])'],
  ['/usr/local/lib/python3.11/site-packages/sqlalchemy/engine/base.py', '_execute_context', 'self.dialect.do_execute('],
];
const GO_FRAMES = [
  'main.(*Server).handle(0xc000010000, {0x0, 0x0})\n\t/app/server.go:',
  'net/http.HandlerFunc.ServeHTTP(0xc0001a2000?, {0x7a1b20?, 0xc0001c4000?}, 0xc0001d6000?)\n\t/usr/local/go/src/net/http/server.go:',
  'github.com/acme/orders/internal/store.(*Store).Load(...)\n\t/app/internal/store/store.go:',
  'created by net/http.(*Server).Serve in goroutine 1\n\t/usr/local/go/src/net/http/server.go:',
];
const PHP_FRAMES = [
  '/var/www/src/Repository/OrderRepository.php(',
  '/var/www/vendor/laravel/framework/src/Illuminate/Pipeline/Pipeline.php(',
  '/var/www/vendor/symfony/http-kernel/HttpKernel.php(',
];
const RUBY_FRAMES = [
  '/app/app/services/checkout.rb:',
  '/app/app/controllers/orders_controller.rb:',
  '/usr/local/bundle/gems/activerecord-7.1.3/lib/active_record/relation.rb:',
];
/** One to `max` frames of a call path, as the language prints them under an error. */
const trace = (p: Pick, max: number, frame: () => string) => Array.from({ length: 1 + p.n(max) }, frame).join('');
const javaTrace = (p: Pick) => trace(p, 12, () => `\n\tat ${p.of(JAVA_FRAMES)}${p.n(900)})`);
const nodeTrace = (p: Pick) => trace(p, 8, () => `\n    at ${p.of(NODE_FRAMES)}${p.n(400)}:${p.n(60)})`);
const pythonTrace = (p: Pick) =>
  trace(p, 4, () => {
    const [file, fn, code] = p.of(PYTHON_FRAMES);
    return `\n  File "${file}", line ${p.n(900)}, in ${fn}\n    ${code}`;
  });
// A goroutine dump as a Go panic prints it (a function, then its file, line and offset, indented).
const goroutine = (p: Pick) =>
  `goroutine ${1 + p.n(200)} [running]:${trace(p, 10, () => `\n${p.of(GO_FRAMES)}${p.n(900)} +0x${hex(p, 3)}`)}`;
const phpTrace = (p: Pick) => {
  let k = 0;
  return `${trace(p, 10, () => `\n#${k++} ${p.of(PHP_FRAMES)}${p.n(400)}): ${p.of(['App\\Db->query()', 'Closure->__invoke()'])}`)}\n#${k} {main}`;
};
// `from` lines under the first frame; before Ruby 3.4 a backtick opens the method's quote.
const rubyTrace = (p: Pick, quote: string) =>
  trace(p, 8, () => `\n\tfrom ${p.of(RUBY_FRAMES)}${p.n(300)}:in ${quote}${p.of(['call', 'create', 'load'])}'`);

/**
 * Error lines of services as their loggers write them, in shapes the fixed families above lack: stack
 * traces under the message (Java with `Caused by:`, Python, Node, .NET, Go, PHP, Ruby), error codes and
 * exception classes in the middle of a line, and messages in Chinese and Japanese, written without spaces.
 */
const SERVICE_FAMILIES: Record<string, Event[]> = {
  // One event per exception and message, whatever the depth of the call path that reached it.
  stack: [
    [10, (p) => `Request to ${p.of(SERVICES)} failed\njava.net.SocketTimeoutException: Read timed out${javaTrace(p)}`],
    [10, (p) => `Request to ${p.of(SERVICES)} failed\njava.net.ConnectException: Connection refused${javaTrace(p)}`],
    [
      5,
      (p) =>
        `Unhandled exception in request ${hex(p, 8)}-${hex(p, 4)}\njava.lang.NullPointerException: null${javaTrace(p)}\n\t... ${p.n(90)} more`,
    ],
    [
      5,
      (p) =>
        `Transaction rolled back\norg.hibernate.exception.JDBCConnectionException: unable to acquire JDBC Connection${javaTrace(p)}\nCaused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out after ${p.n(30000)}ms.${javaTrace(p)}\n\t... ${p.n(90)} more`,
    ],
    [10, (p) => `Traceback (most recent call last):${pythonTrace(p)}\nKeyError: 'order_id'`],
    [
      5,
      (p) =>
        `Traceback (most recent call last):${pythonTrace(p)}\nsqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to server at "10.0.${p.n(9)}.${p.n(255)}", port 5432 failed: Connection refused`,
    ],
    [10, (p) => `TypeError: Cannot read properties of undefined (reading 'total')${nodeTrace(p)}`],
    // The same stack inside a JSON line, its line breaks escaped.
    [
      5,
      (p) =>
        `{"level":"error","time":${1_790_000_000_000 + p.n(1e9)},"msg":"unhandled rejection","err":${JSON.stringify(`RangeError: Invalid time value${nodeTrace(p)}`)}}`,
    ],
    [10, (p) => `Error: Request failed with status code ${p.of([500, 502, 503])}${nodeTrace(p)}`],
    [
      5,
      (p) =>
        `System.InvalidOperationException: Sequence contains no elements${trace(p, 6, () => `\n   at Acme.Orders.${p.of(['OrderService.Place', 'Repository.Load', 'Cart.Total'])}() in /src/Orders.cs:line ${p.n(400)}`)}`,
    ],
    [
      10,
      (p) =>
        `panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x${hex(p, 6)}]\n\n${goroutine(p)}\nexit status 2`,
    ],
    // net/http logs a handler's panic with the dump right under it.
    [
      5,
      (p) =>
        `http: panic serving ${ip(p)}:${p.n(65536)}: runtime error: index out of range [${p.n(9)}] with length ${p.n(9)}\n${goroutine(p)}`,
    ],
    [
      5,
      (p) =>
        `level=error msg="worker crashed" err=${JSON.stringify(`panic: send on closed channel\n\n${goroutine(p)}`)}`,
    ],
    // pkg/errors' `%+v`: each frame a function and its file indented under it, with no goroutine line.
    [
      5,
      (p) =>
        `load order ${p.n(99_999)}: sql: no rows in result set${trace(p, 8, () => `\n${p.of(GO_FRAMES)}${p.n(900)}`)}`,
    ],
    [
      10,
      (p) =>
        `PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /var/www/src/Db.php:${p.n(90)}\nStack trace:${phpTrace(p)}\n  thrown in /var/www/src/Db.php on line ${p.n(90)}`,
    ],
    [
      5,
      (p) =>
        `{"level":"error","msg":"request failed","exception":${JSON.stringify(`RuntimeException: Order not found\nStack trace:${phpTrace(p)}`)}}`,
    ],
    // Ruby's uncaught exception: the first frame starts the message line.
    [
      10,
      (p) =>
        `/app/app/models/order.rb:${p.n(300)}:in \`total': undefined method \`price' for nil:NilClass (NoMethodError)${rubyTrace(p, '`')}`,
    ],
    [
      5,
      (p) =>
        `/app/app/models/cart.rb:${p.n(300)}:in 'Cart#checkout': cart is empty (Cart::EmptyError)${rubyTrace(p, "'")}`,
    ],
    // Ruby's Logger: message and class, then the frames, one a line, unindented.
    [
      5,
      (p) =>
        `Error connecting to Redis on ${host(p)}:6379 (ECONNREFUSED) (Redis::CannotConnectError)${rubyTrace(p, "'").replaceAll('\tfrom ', '')}`,
    ],
  ],
  // Error codes and exception classes that name the event, more than a handful in one place.
  codes: [
    ...['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].map(
      (code): Event => [10, (p) => `Error: connect ${code} 10.0.${p.n(9)}.${p.n(255)}:${p.of([5432, 6379, 443])}`],
    ),
    ...['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'PERMISSION_DENIED', 'INTERNAL'].map(
      (code): Event => [8, (p) => `call ${p.of(SERVICES)}.${p.of(['Get', 'List', 'Update'])} failed: ${code}`],
    ),
    ...[
      'java.net.SocketTimeoutException',
      'java.net.ConnectException',
      'java.net.UnknownHostException',
      'javax.net.ssl.SSLHandshakeException',
      'java.io.EOFException',
    ].map((exception): Event => [8, (p) => `Request to ${p.of(SERVICES)} failed with ${exception}`]),
    ...['KeyError', 'ValueError', 'TimeoutError', 'ConnectionResetError'].map(
      (exception): Event => [6, (p) => `task ${p.of(WORDS)}-sync raised ${exception} after ${p.n(5)} retries`],
    ),
  ],
  // Chinese and Japanese messages: no spaces, numbers glued to the words around them.
  cjk: [
    [10, (p) => `订单${p.n()}支付失败`],
    [10, (p) => `商品${p.n()}库存不足`],
    [10, (p) => `调用${p.of(SERVICES)}服务超时，耗时${p.n(5000)}ms`],
    [10, (p) => `用户${p.n()}登录失败：密码错误`],
    [10, (p) => `ユーザー${p.n()}の認証に失敗しました`],
    [10, (p) => `注文${p.n()}の決済がタイムアウトしました（${p.n(30)}秒）`],
    [5, (p) => `数据库连接池已满，当前连接数${p.n(200)}`],
  ],
};

const COMMON = 'the for to with from in on of failed error unable could not is was at by and cannot'.split(' ');
const PROCESSES = [
  'kernel',
  'WindowServer',
  'mDNSResponder',
  'coreaudiod',
  'Safari',
  'sharingd',
  'bluetoothd',
  'locationd',
  'Finder',
  'Dock',
  'launchd',
  'configd',
];

/**
 * 200 events of 3 to 16 tokens with Zipf-like weights, made of common words, made-up words and slots
 * (numbers, hex, paths, process and host names): most events are rare, many share words, and their word
 * values are mostly seen once — as on a desktop OS.
 */
function manyRareEvents(rand: Rand, p: Pick): Event[] {
  const syllables = (k: number) =>
    Array.from({ length: k }, () => `${p.of([...'bcdfghjklmnprstvz'])}${p.of([...'aeiou'])}`).join('');
  const vocabulary = Array.from({ length: 400 }, (_, i) => syllables(2 + (i % 3)));
  const slots: ((p: Pick) => string)[] = [
    (q) => String(q.n()),
    (q) => `0x${hex(q, 8)}`,
    (q) => `/Users/${q.of(vocabulary)}/Library/${q.of(vocabulary)}.plist`,
    (q) => q.of(PROCESSES),
    (q) => `${q.of(vocabulary)}.${q.of(vocabulary)}.com`,
  ];
  return Array.from({ length: 200 }, (_, e): Event => {
    const parts = Array.from({ length: 3 + p.n(14) }, (_, k) => {
      const r = rand();
      return r < 0.3 ? p.of(COMMON) : r < 0.45 && k > 0 ? p.of(slots) : p.of(vocabulary);
    });
    return [1 / (1 + e) ** 1.1, (q) => parts.map((part) => (typeof part === 'string' ? part : part(q))).join(' ')];
  });
}

/** Every family as `messages` with the event index of each line as `truth`. */
export function syntheticSets(rand: Rand, lines = 2000): { name: string; messages: string[]; truth: string[] }[] {
  const p = pick(rand);
  const families = { ...FIXED_FAMILIES, many: manyRareEvents(rand, p), ...SERVICE_FAMILIES };
  return Object.entries(families).map(([name, events]) => {
    const total = events.reduce((s, [w]) => s + w, 0);
    const messages: string[] = [];
    const truth: string[] = [];
    for (let i = 0; i < lines; i++) {
      let x = rand() * total;
      let e = 0;
      while (e < events.length - 1 && x >= (events[e] as Event)[0]) x -= (events[e++] as Event)[0];
      messages.push((events[e] as Event)[1](p));
      truth.push(String(e));
    }
    return { name: `syn-${name}`, messages, truth };
  });
}
