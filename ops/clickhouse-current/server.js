'use strict';
// A test-only stand-in for ClickHouse's HTTP interface over chDB (ClickHouse's engine as an
// in-process library). Only the HTTP layer is ours; every statement runs on the real engine. See
// README.md beside this file for what it is and is not.
//
//   node server.js --port PORT --path DATA_DIR [--host 127.0.0.1]
//
// One chDB session, so one query at a time: requests queue in arrival order once their body is in.
// Bodies are read to the end before a query is queued, so a request whose body is still arriving
// holds nothing, and an INSERT held by its client cannot block a DROP (see README.md).
const http = require('http');
const os = require('os');
const crypto = require('crypto');
const { Session } = require('chdb');

function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback === undefined) {
    console.error(`usage: node server.js --port PORT --path DATA_DIR [--host HOST]`);
    process.exit(2);
  }
  return fallback;
}

const PORT = Number(arg('port'));
const HOST = arg('host', '127.0.0.1');
const DATA = arg('path');
const MAX_BODY = 256 * 1024 * 1024;

// URL parameters of ClickHouse's HTTP interface that are not settings. Everything else is a setting.
const IGNORED = new Set(['user', 'password', 'quota_key', 'wait_end_of_query', 'buffer_size', 'stacktrace']);
const UNSUPPORTED = new Set(['session_id', 'session_timeout', 'session_check', 'role', 'query_kind']);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// ClickHouse's HTTP status for an exception code (HTTPHandler's mapping; the rest are 500).
const STATUS = new Map();
for (const code of [6, 25, 26, 27, 38, 41, 53, 62, 72, 117, 321]) STATUS.set(code, 400);   // parse/syntax/type errors
for (const code of [46, 47, 50, 56, 60, 73, 81, 115]) STATUS.set(code, 404);              // unknown table/database/setting/...
STATUS.set(48, 501);                                                                      // NOT_IMPLEMENTED

const session = new Session(DATA);
let version = '';
let timezone = '';
const knownSettings = new Set();
// Settings a request changed: the next request sets each back to its default before its own.
const touched = new Set();

let queue = Promise.resolve();
function serialized(work) {
  const run = queue.then(work, work);
  queue = run.catch(() => {});
  return run;
}

function quoteString(value) {
  return "'" + value.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

function fail(res, status, code, message, queryId) {
  const text = message.startsWith('Code: ') ? message : `Code: ${code}. DB::Exception: ${message}`;
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=UTF-8',
    'X-ClickHouse-Exception-Code': String(code),
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Server-Display-Name': os.hostname(),
  });
  res.end(`${text}${text.includes('(version ') ? '' : ` (version ${version})`}\n`);
}

// The FORMAT a SELECT names at its end, which decides what the response holds.
function namedFormat(sql) {
  const m = /\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$/i.exec(sql);
  return m ? m[1] : null;
}

async function handle(req, res, body) {
  const url = new URL(req.url, 'http://localhost');
  const queryId = url.searchParams.get('query_id') || crypto.randomUUID();
  if (url.pathname === '/ping' || (url.pathname === '/' && req.method === 'GET' && !url.searchParams.has('query'))) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=UTF-8' });
    res.end('Ok.\n');
    return;
  }
  if (url.pathname !== '/') return fail(res, 404, 0, `no handler for ${url.pathname} in this stand-in (only / and /ping)`, queryId);
  if (req.headers['content-encoding'] || url.searchParams.get('compress') === '1' || url.searchParams.get('decompress') === '1'
      || url.searchParams.get('enable_http_compression') === '1') {
    return fail(res, 501, 48, 'compression is not implemented by this stand-in (NOT_IMPLEMENTED)', queryId);
  }
  let database = 'default';
  let defaultFormat = req.headers['x-clickhouse-format'] || 'TabSeparated';
  const settings = new Map();
  for (const [name, value] of url.searchParams) {
    if (name === 'query' || name === 'query_id' || IGNORED.has(name) || name === 'compress' || name === 'decompress') continue;
    if (name === 'database') { database = value; continue; }
    if (name === 'default_format') { defaultFormat = value; continue; }
    if (UNSUPPORTED.has(name) || name.startsWith('param_')) {
      return fail(res, 501, 48, `URL parameter ${name} is not implemented by this stand-in (NOT_IMPLEMENTED)`, queryId);
    }
    if (!IDENTIFIER.test(name)) return fail(res, 400, 115, `Unknown setting '${name}'. (UNKNOWN_SETTING)`, queryId);
    settings.set(name, value);
  }
  if (req.headers['x-clickhouse-database']) database = req.headers['x-clickhouse-database'];
  if (!IDENTIFIER.test(database)) return fail(res, 404, 81, `Database ${database} does not exist. (UNKNOWN_DATABASE)`, queryId);
  if (!IDENTIFIER.test(defaultFormat)) return fail(res, 404, 73, `Unknown format ${defaultFormat}. (UNKNOWN_FORMAT)`, queryId);

  // As ClickHouse does: the query parameter, then a newline, then the body (the rest of the query, or INSERT data).
  const param = url.searchParams.get('query');
  const text = body.toString('utf8');
  const sql = param !== null ? (text.length ? param + '\n' + text : param) : text;
  if (!sql.trim()) return fail(res, 400, 62, 'Empty query. (SYNTAX_ERROR)', queryId);

  const started = process.hrtime.bigint();
  let result;
  try {
    result = await serialized(async () => {
      // A name the engine does not know is refused by the engine, alone, so that nothing changes.
      for (const name of settings.keys()) {
        if (!knownSettings.has(name)) await session.queryAsync(`SET ${name} = ${quoteString(settings.get(name))}`);
      }
      const prefix = [];
      for (const name of touched) if (!settings.has(name)) prefix.push(`SET ${name} = DEFAULT`);
      for (const [name, value] of settings) { prefix.push(`SET ${name} = ${quoteString(value)}`); touched.add(name); }
      prefix.push('USE `' + database + '`');
      return session.queryAsync(prefix.join(';\n') + ';\n' + sql, { format: defaultFormat });
    });
  } catch (e) {
    const code = Number(e.clickhouseCode) || 0;
    log(req, STATUS.get(code) || 500, started, database, settings, sql);
    return fail(res, STATUS.get(code) || 500, code, String(e.message || e), queryId);
  }
  const out = Buffer.from(result.bytes());
  res.writeHead(200, {
    'Content-Type': 'text/plain; charset=UTF-8',
    'Content-Length': out.length,
    'X-ClickHouse-Query-Id': queryId,
    'X-ClickHouse-Format': namedFormat(sql) || defaultFormat,
    'X-ClickHouse-Timezone': timezone,
    'X-ClickHouse-Server-Display-Name': os.hostname(),
    'X-ClickHouse-Summary': JSON.stringify({
      read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead),
      elapsed_ns: String(Math.round(result.elapsed * 1e9)),
    }),
  });
  res.end(out);
  log(req, 200, started, database, settings, sql);
}

// One line per query: method, status, time, database, the settings it came with, its start.
function log(req, status, started, database, settings, sql) {
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const head = sql.length > 160 ? sql.slice(0, 160) + '...' : sql;
  const with_ = [...settings].map(([name, value]) => `${name}=${value}`).join('&');
  console.log(`${new Date().toISOString()} ${req.method} ${status} ${ms.toFixed(1)}ms ${database} [${with_}] ${JSON.stringify(head)}`);
}

async function main() {
  version = (await session.queryAsync('SELECT version()', { format: 'TabSeparated' })).text().trim();
  timezone = (await session.queryAsync('SELECT timezone()', { format: 'TabSeparated' })).text().trim();
  const names = (await session.queryAsync('SELECT name FROM system.settings', { format: 'TabSeparated' })).text();
  for (const name of names.split('\n')) if (name) knownSettings.add(name);
  const server = http.createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) { req.destroy(); return; }
      chunks.push(chunk);
    });
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((e) => {
        if (!res.headersSent) fail(res, 500, 1001, String(e && e.stack || e), 'unknown');
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 10000;
  server.listen(PORT, HOST, () => console.log(`chDB ${version} (data ${DATA}) on http://${HOST}:${PORT}`));
  // Idle keep-alive connections would hold close() for their timeout; the queue finishes what it holds.
  const stop = () => {
    server.close(() => queue.then(() => { session.close(); process.exit(0); }));
    server.closeIdleConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { console.error(e); process.exit(1); });
