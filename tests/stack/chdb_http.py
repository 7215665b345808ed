#!/usr/bin/env python3
"""ClickHouse HTTP interface in front of the chdb (embedded ClickHouse) engine.

Test-stack adaptor for pipetop. Every SQL statement is executed by the chdb
engine; this process only does what the ClickHouse HTTP server does around it:
URL parameters -> settings / database / query parameters / output format,
authentication against a small users file, ClickHouse LZ4 block compression
(compress=1 / decompress=1, used by the Rust `clickhouse` crate by default),
chunked request bodies, and ClickHouse-style error responses.

How the engine is driven (chdb-core 26.x):
  * One process hosts one engine bound to one data path.  A primary
    connection opened with `?config-file=...` keeps the engine alive.
  * Every HTTP request opens its own short-lived connection
    `DATA?setting=value&...`; chdb applies those as session settings of that
    connection (as if `SET` ran), so readonly / max_execution_time / etc. are
    enforced by the engine.  Separate connections run queries in parallel.
  * `param_*` values are handed to the engine as query parameters
    (`{name:Type}` substitution is done by ClickHouse itself).

Run:  python chdb_http.py --data DIR --config FILE --users FILE [--port 8123]
"""

import argparse
import base64
import binascii
import gzip
import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb  # noqa: F401  (loads the engine library the way chdb wants)
from chdb import _chdb

try:
    import lz4.block as _lz4
    from clickhouse_cityhash.cityhash import CityHash128 as _city128
except ImportError:  # compression then answers with an error
    _lz4 = None
    _city128 = None

# URL parameters that are not settings (as in ClickHouse's HTTPHandler).
RESERVED_PARAMS = {
    "query", "database", "default_format", "user", "password", "quota_key",
    "query_id", "stacktrace", "role", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "session_id", "session_timeout", "session_check",
    "client_protocol_version", "close_session", "default_database",
}

# Exception name -> HTTP status, as ClickHouse's exceptionCodeToHTTPStatus.cpp.
# Names are resolved to codes with the engine's own system.error_codes.
_STATUS_BY_NAME = {
    "REQUIRED_PASSWORD": 401,
    "UNKNOWN_USER": 403, "WRONG_PASSWORD": 403, "AUTHENTICATION_FAILED": 403,
    "SET_NON_GRANTED_ROLE": 403, "ACCESS_DENIED": 403,
    "QUERY_IS_TOO_LARGE": 413, "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503, "CANNOT_OPEN_FILE": 503, "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411, "TIMEOUT_EXCEEDED": 408, "UNSUPPORTED_MEDIA_TYPE": 415,
}
for _n in ("BAD_ARGUMENTS CANNOT_COMPILE_REGEXP CANNOT_PARSE_TEXT CANNOT_PARSE_ESCAPE_SEQUENCE "
           "CANNOT_PARSE_QUOTED_STRING CANNOT_PARSE_DATE CANNOT_PARSE_DATETIME CANNOT_PARSE_NUMBER "
           "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING CANNOT_PARSE_IPV4 CANNOT_PARSE_IPV6 "
           "CANNOT_PARSE_INPUT_ASSERTION_FAILED CANNOT_PARSE_UUID DUPLICATE_COLUMN ILLEGAL_COLUMN "
           "UNKNOWN_ELEMENT_IN_AST UNKNOWN_TYPE_OF_AST_NODE THERE_IS_NO_COLUMN TOO_DEEP_AST TOO_BIG_AST "
           "UNEXPECTED_AST_STRUCTURE SYNTAX_ERROR INCORRECT_DATA TYPE_MISMATCH "
           "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE").split():
    _STATUS_BY_NAME[_n] = 400
for _n in ("UNKNOWN_TABLE UNKNOWN_FUNCTION UNKNOWN_IDENTIFIER UNKNOWN_TYPE UNKNOWN_STORAGE "
           "UNKNOWN_DATABASE UNKNOWN_SETTING UNKNOWN_DIRECTION_OF_SORTING UNKNOWN_AGGREGATE_FUNCTION "
           "UNKNOWN_FORMAT UNKNOWN_DATABASE_ENGINE UNKNOWN_TYPE_OF_QUERY UNKNOWN_ROLE").split():
    _STATUS_BY_NAME[_n] = 404
_STATUS_BY_CODE = {}  # filled by Engine.__init__
AUTH_CODES = {516, 192, 193}  # AUTHENTICATION_FAILED, UNKNOWN_USER, WRONG_PASSWORD -> 403 always

CONTENT_TYPES = {
    "tabseparated": "text/tab-separated-values; charset=UTF-8",
    "tsv": "text/tab-separated-values; charset=UTF-8",
    "tabseparatedwithnames": "text/tab-separated-values; charset=UTF-8",
    "tsvwithnames": "text/tab-separated-values; charset=UTF-8",
    "tabseparatedwithnamesandtypes": "text/tab-separated-values; charset=UTF-8",
    "tsvwithnamesandtypes": "text/tab-separated-values; charset=UTF-8",
    "csv": "text/csv; charset=UTF-8; header=absent",
    "csvwithnames": "text/csv; charset=UTF-8; header=present",
    "json": "application/json; charset=UTF-8",
    "jsoncompact": "application/json; charset=UTF-8",
    "jsoneachrow": "application/x-ndjson; charset=UTF-8",
    "jsonstrings": "application/json; charset=UTF-8",
    "pretty": "text/plain; charset=UTF-8",
    "prettycompact": "text/plain; charset=UTF-8",
}

FORMAT_AT_END = re.compile(rb"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*\Z", re.IGNORECASE)
CODE_IN_MSG = re.compile(r"Code:\s*(\d+)\.")
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ClickHouseError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


# --------------------------------------------------------------------------
# ClickHouse LZ4 block framing (checksum[16] 0x82 csize[u32] usize[u32] data)
# --------------------------------------------------------------------------
def _checksum(buf):
    h = _city128(buf)
    return struct.pack("<QQ", h >> 64, h & 0xFFFFFFFFFFFFFFFF)


def ch_compress(data, block=1 << 20):
    if _lz4 is None:
        raise ClickHouseError(1001, "compress=1 needs the python packages lz4 and clickhouse-cityhash")
    out = []
    for i in range(0, max(len(data), 1), block):
        chunk = data[i:i + block]
        comp = _lz4.compress(chunk, store_size=False)
        hdr = struct.pack("<BII", 0x82, 9 + len(comp), len(chunk))
        out.append(_checksum(hdr + comp) + hdr + comp)
    return b"".join(out)


def ch_decompress(data):
    if _lz4 is None:
        raise ClickHouseError(1001, "decompress=1 needs the python packages lz4 and clickhouse-cityhash")
    out = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 25:
            raise ClickHouseError(271, "Cannot decompress: truncated compressed block. (CANNOT_DECOMPRESS)")
        ck = data[pos:pos + 16]
        method, csize, usize = struct.unpack_from("<BII", data, pos + 16)
        block = data[pos + 16:pos + 16 + csize]
        if len(block) != csize:
            raise ClickHouseError(271, "Cannot decompress: truncated compressed block. (CANNOT_DECOMPRESS)")
        if _checksum(block) != ck:
            raise ClickHouseError(40, "Checksum doesn't match: corrupted data. (CHECKSUM_DOESNT_MATCH)")
        payload = block[9:]
        if method == 0x82:
            out.append(_lz4.decompress(payload, uncompressed_size=usize))
        elif method == 0x02:  # NONE
            out.append(payload)
        else:
            raise ClickHouseError(89, "Unknown compression method: %#x. (UNKNOWN_COMPRESSION_METHOD)" % method)
        pos += 16 + csize
    return b"".join(out)


INSERT_WITH_FORMAT = re.compile(rb"\A\s*(INSERT\b.*?)\s+FORMAT\s+([A-Za-z0-9_]+)[ \t]*;?[ \t]*(?:\r?\n)?",
                                re.IGNORECASE | re.DOTALL)
INSERT_VALUES_END = re.compile(rb"\A\s*(INSERT\b.*?)\s+VALUES\s*\Z", re.IGNORECASE | re.DOTALL)


def split_insert(qparam, body):
    """(head, format, data) when the request is an INSERT whose data is in the body.

    The adaptor needs the INSERT head without its FORMAT clause because chdb's
    streaming insert API takes the format separately; the statement itself is
    still parsed and executed by the engine."""
    if qparam and body:
        m = INSERT_WITH_FORMAT.match(qparam)
        if m and not qparam[m.end():].strip():
            return m.group(1), m.group(2).decode(), body
        m = INSERT_VALUES_END.match(qparam)
        if m:
            return m.group(1), "Values", body
        return None
    if body and not qparam:
        m = INSERT_WITH_FORMAT.match(body[:65536])
        if m and b"'" not in m.group(1) and b'"' not in m.group(1):  # no literals in the head
            return m.group(1), m.group(2).decode(), body[m.end():]
    return None


def parse_multipart(body, ctype):
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not m:
        raise ClickHouseError(36, "multipart/form-data without boundary. (BAD_ARGUMENTS)")
    delim = b"--" + m.group(1).encode()
    out = []
    for part in body.split(delim)[1:]:
        if part.startswith(b"--"):
            break
        part = part[2:] if part.startswith(b"\r\n") else part
        hdrs, _, value = part.partition(b"\r\n\r\n")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        nm = re.search(rb'name="([^"]*)"', hdrs)
        if not nm:
            continue
        if re.search(rb'filename=', hdrs):
            raise ClickHouseError(48, "external data (file parts in multipart/form-data) is not "
                                      "supported by chdb_http.py. (NOT_IMPLEMENTED)")
        out.append((nm.group(1).decode(), value))
    return out


# --------------------------------------------------------------------------
class Engine:
    def __init__(self, data_dir, config_file):
        self.data_dir = os.path.abspath(data_dir)
        os.makedirs(self.data_dir, exist_ok=True)
        # The primary connection starts the engine with the server config and
        # stays open for the life of the process.
        self.primary = _chdb.connect("%s?config-file=%s" % (self.data_dir, os.path.abspath(config_file)))
        internal = _chdb.connect("%s?log_queries=0" % self.data_dir)
        try:
            self.version = internal.query("SELECT version()", "TSV").bytes().decode().strip()
            names = internal.query("SELECT name FROM system.settings", "TSV").bytes().decode()
            self.settings = set(names.split())
            codes = internal.query(
                "SELECT errorCodeToName(toInt32(number)) AS n, number FROM numbers(2000) WHERE n != ''", "TSV").bytes().decode()
            for line in codes.splitlines():
                name, code = line.split("\t")
                if name in _STATUS_BY_NAME:
                    _STATUS_BY_CODE[int(code)] = _STATUS_BY_NAME[name]
        finally:
            internal.close()

    def check_setting(self, name):
        if name in self.settings or name.startswith("custom_"):
            return
        raise ClickHouseError(
            115, "Setting %s is neither a builtin setting nor started with the prefix 'custom_' "
                 "registered for user-defined settings. (UNKNOWN_SETTING)" % name)

    def run(self, sql, fmt, settings, params, database, insert=None):
        parts = []
        late = []  # values chdb's connection string cannot carry -> SET
        items = list(settings.items())
        # readonly last: once it is 1, the engine refuses further setting changes.
        items.sort(key=lambda kv: kv[0] == "readonly")
        for k, v in items:
            self.check_setting(k)
            if any(ch in v for ch in "&?#\r\n") or v == "":
                late.append((k, v))
            else:
                parts.append("%s=%s" % (k, v))
        if database:
            if any(ch in database for ch in "&?#=\r\n"):
                raise ClickHouseError(81, "Database %s does not exist. (UNKNOWN_DATABASE)" % database)
            parts.insert(0, "database=%s" % database)
        cs = self.data_dir + ("?" + "&".join(parts) if parts else "")
        try:
            conn = _chdb.connect(cs)
        except RuntimeError as e:
            raise self._err(e)
        try:
            for k, v in late:
                lit = "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
                conn.query("SET %s = %s" % (k, lit), "TSV")
            if insert is not None and b"\n\n" in b"\n" + insert[2]:
                # chdb's query() ends inline INSERT data at the first empty line
                # ("\n\n"): rows after it are silently dropped (or error 33).
                # Such bodies go through chdb's streaming insert API instead, which
                # takes all bytes -- but chdb does not log a failed streaming
                # insert as ExceptionWhileProcessing in system.query_log.
                head, in_fmt, data = insert
                ins = conn.send_insert(head, in_fmt)
                try:
                    if data:
                        conn.insert_append(ins, data)
                    res = conn.insert_done(ins)
                except BaseException:
                    try:
                        conn.insert_cancel(ins)
                    except Exception:
                        pass
                    raise
                return b"", {
                    "read_rows": res.rows_written(), "read_bytes": res.bytes_written(),
                    "written_rows": res.rows_written(), "written_bytes": res.bytes_written(),
                    "elapsed_ns": int(res.elapsed() * 1e9),
                }
            res = conn.query(sql, fmt, params=params)
            return res.bytes(), {
                "read_rows": res.rows_read(), "read_bytes": res.bytes_read(),
                "written_rows": res.rows_written(), "written_bytes": res.bytes_written(),
                "elapsed_ns": int(res.elapsed() * 1e9),
            }
        except RuntimeError as e:
            raise self._err(e)
        finally:
            conn.close()

    @staticmethod
    def _err(e):
        msg = str(e)
        m = CODE_IN_MSG.search(msg)
        if m:
            return ClickHouseError(int(m.group(1)), msg[m.start():].strip())
        return ClickHouseError(1001, "Code: 1001. DB::Exception: %s. (STD_EXCEPTION)" % msg.strip())


class Users:
    """users.json: {"name": {"password": "..."}, ...} (re-read when changed)."""

    def __init__(self, path):
        self.path = path
        self.mtime = None
        self.users = {}
        self.lock = threading.Lock()

    def check(self, user, password):
        with self.lock:
            try:
                st = os.stat(self.path).st_mtime
                if st != self.mtime:
                    with open(self.path) as f:
                        self.users = json.load(f)
                    self.mtime = st
            except FileNotFoundError:
                self.users = {"default": {"password": ""}}
            u = self.users.get(user)
        if u is None or str(u.get("password", "")) != (password or ""):
            raise ClickHouseError(
                516, "Code: 516. DB::Exception: %s: Authentication failed: password is incorrect, "
                     "or there is no user with such name. (AUTHENTICATION_FAILED)" % user)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb_http"
    sys_version = ""

    def setup(self):
        super().setup()
        # Without TCP_NODELAY a response written as headers then body waits for the client's
        # delayed ACK (up to 40 ms on Linux) on every reused keep-alive connection.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    # ---------------------------------------------------------------- I/O
    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            body = b"".join(chunks)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
        enc = (self.headers.get("Content-Encoding") or "").lower().strip()
        if enc in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        elif enc not in ("", "identity"):
            raise ClickHouseError(89, "Code: 89. DB::Exception: Unknown HTTP compression method: %s. "
                                       "(UNKNOWN_COMPRESSION_METHOD)" % enc)
        return body

    def _send(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "Keep-Alive")
            self.send_header("Keep-Alive", "timeout=30")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, err, query_id):
        msg = err.message
        if not msg.startswith("Code:"):
            msg = "Code: %d. DB::Exception: %s" % (err.code, msg)
        if "(version " not in msg[-40:]:
            msg = "%s (version %s)" % (msg, self.server.engine.version)
        body = (msg + "\n").encode("utf-8", "replace")
        if err.code in AUTH_CODES:
            status = 403
        elif self.server.status_map == "clickhouse":
            status = _STATUS_BY_CODE.get(err.code, 500)
        else:
            status = 500
        self._send(status, body, [
            ("Content-Type", "text/plain; charset=UTF-8"),
            ("X-ClickHouse-Exception-Code", str(err.code)),
            ("X-ClickHouse-Query-Id", query_id),
            ("X-ClickHouse-Server-Display-Name", "chdb_http"),
        ])

    # ------------------------------------------------------------ methods
    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def _handle(self):
        url = urlsplit(self.path)
        params = parse_qsl(url.query, keep_blank_values=True)
        query_id = ""
        try:
            body = self._read_body() if self.command == "POST" else b""
        except ClickHouseError as e:
            self.close_connection = True
            return self._send_error(e, str(uuid.uuid4()))
        except Exception as e:  # malformed request
            self.close_connection = True
            return self._send_error(ClickHouseError(1001, "Cannot read request body: %s" % e), "")
        path = url.path
        if path == "/ping" and self.command in ("GET", "HEAD"):
            return self._send(200, b"Ok.\n", [("Content-Type", "text/html; charset=UTF-8")])
        if path == "/replicas_status":
            return self._send(200, b"Ok.\n", [("Content-Type", "text/html; charset=UTF-8")])
        p = {}
        for k, v in params:
            p[k] = v
        if self.command in ("GET", "HEAD") and "query" not in p:
            return self._send(200, b"Ok.\n", [("Content-Type", "text/html; charset=UTF-8")])

        query_id = p.get("query_id") or str(uuid.uuid4())
        try:
            self._authenticate(p)
            if p.get("decompress") in ("1", "true"):
                body = ch_decompress(body)
            qparam = p.get("query", "").encode("utf-8")
            ctype = self.headers.get("Content-Type") or ""
            if body and ctype.lower().startswith("multipart/form-data"):
                # clickhouse crate >= 0.15 sends query + param_* as form fields
                fields = parse_multipart(body, ctype)
                body = b""
                for k, v in fields:
                    if k == "query":
                        body = v
                    else:
                        p[k] = v.decode("utf-8")
            if qparam and body:
                sql = qparam + b"\n" + body
            else:
                sql = qparam or body
            insert = split_insert(qparam, body)
            settings = {}
            qparams = {}
            for k, v in p.items():
                if k.startswith("param_"):
                    qparams[k[6:]] = v
                elif k in RESERVED_PARAMS:
                    continue
                else:
                    if not SETTING_NAME.match(k):
                        raise ClickHouseError(115, "Setting %s is neither a builtin setting nor started "
                                                   "with the prefix 'custom_'. (UNKNOWN_SETTING)" % k)
                    settings[k] = v
            # ClickHouse: HTTP GET requests are read-only (readonly=2) unless stricter.
            if self.command in ("GET", "HEAD") and settings.get("readonly", "0") in ("0", ""):
                settings["readonly"] = "2"
            fmt = p.get("default_format") or settings.get("default_format") or "TabSeparated"
            m = FORMAT_AT_END.search(qparam or sql[:65536]) if sql else None
            out_fmt = m.group(1).decode() if (m and not sql.lstrip()[:6].upper() == b"INSERT") else fmt
            if self.server.verbose:
                sys.stderr.write("  params=%r body=%d bytes sql=%r\n" % (p, len(body), sql[:300]))
            data, summary = self.server.engine.run(sql, fmt, settings, qparams, p.get("database"), insert)
        except ClickHouseError as e:
            return self._send_error(e, query_id)
        except Exception as e:  # adaptor bug: still answer like ClickHouse would
            return self._send_error(ClickHouseError(1001, "%s: %s" % (type(e).__name__, e)), query_id)

        summary_hdr = json.dumps({
            "read_rows": str(summary["read_rows"]), "read_bytes": str(summary["read_bytes"]),
            "written_rows": str(summary["written_rows"]), "written_bytes": str(summary["written_bytes"]),
            "total_rows_to_read": "0", "result_rows": "0", "result_bytes": str(len(data)),
            "elapsed_ns": str(summary["elapsed_ns"]),
        }, separators=(",", ":"))
        headers = [
            ("Content-Type", CONTENT_TYPES.get(out_fmt.lower(), "application/octet-stream")),
            ("X-ClickHouse-Query-Id", query_id),
            ("X-ClickHouse-Format", out_fmt),
            ("X-ClickHouse-Server-Display-Name", "chdb_http"),
            ("X-ClickHouse-Summary", summary_hdr),
        ]
        if p.get("compress") in ("1", "true"):
            try:
                data = ch_compress(data)
            except ClickHouseError as e:
                return self._send_error(e, query_id)
        self._send(200, data, headers)

    def _authenticate(self, p):
        user = password = None
        h_user = self.headers.get("X-ClickHouse-User")
        h_key = self.headers.get("X-ClickHouse-Key")
        auth = self.headers.get("Authorization")
        if h_user is not None or h_key is not None:
            user, password = h_user, h_key
        elif auth and auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ClickHouseError(516, "Code: 516. DB::Exception: Malformed Basic authorization header. "
                                           "(AUTHENTICATION_FAILED)")
            user, _, password = raw.partition(":")
        elif "user" in p or "password" in p:
            user, password = p.get("user"), p.get("password")
        self.server.users.check(user or "default", password or "")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("PIPETOP_CHDB_PORT", "8123")))
    ap.add_argument("--data", required=True, help="engine data directory (persistent)")
    ap.add_argument("--config", required=True, help="ClickHouse server config XML for the engine")
    ap.add_argument("--users", required=True, help="users.json")
    ap.add_argument("--pidfile")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    ap.add_argument("--http-status", choices=("plain", "clickhouse"),
                    default=os.environ.get("PIPETOP_CHDB_HTTP_STATUS", "plain"),
                    help="plain (default): every engine error is HTTP 500; clickhouse: the status real "
                         "ClickHouse picks per exception code (400 syntax, 404 unknown table, 408 timeout, ...). "
                         "Auth failures are 403 in both.")
    a = ap.parse_args()
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("refusing to bind to a non-loopback address")

    engine = Engine(a.data, a.config)
    srv = Server((a.host, a.port), Handler)
    srv.engine = engine
    srv.users = Users(a.users)
    srv.verbose = a.verbose
    srv.status_map = a.http_status
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.replace(a.pidfile + ".tmp", a.pidfile)

    def stop(signum, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sys.stderr.write("chdb_http: engine %s, listening on http://%s:%d, data %s\n"
                     % (engine.version, a.host, a.port, engine.data_dir))
    sys.stderr.flush()
    try:
        srv.serve_forever(poll_interval=0.5)
    finally:
        srv.server_close()
        try:
            engine.primary.close()
        except Exception:
            pass
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except FileNotFoundError:
                pass
        sys.stderr.write("chdb_http: stopped\n")


if __name__ == "__main__":
    main()
