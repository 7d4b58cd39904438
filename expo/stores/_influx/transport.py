"""HTTP to InfluxDB's v1 API, and the meaning of each answer.

One kept-alive connection, reopened once if the server closed it. Every
answer falls in one of three classes, because the writer must treat them
differently:

- retry later (``StoreUnavailable``): no connection, 429 and 5xx (with the
  server's ``Retry-After``), no answer within ``TIMEOUT_S`` (``StoreBusy``: a
  loaded server, retried soon), 401/403 and 404 (a token or a database an
  operator is about to fix), and any status we do not know;
- refused for good: 400, 413 and 422 to a write. 1.x answers 400 "partial
  write: points beyond retention policy dropped=N" or "field type conflict";
  2.x answers 422 to points outside the bucket's retention. ``write``
  returns the server's message and the caller isolates the refused points;
- an error in what we asked (a 400 to a query, an InfluxQL error): ``StoreError``.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
from urllib.parse import urlencode

from expo.store import StoreBusy, StoreError, StoreUnavailable

TIMEOUT_S = 10.0
RETRIABLE_STATUS = {429, 500, 502, 503, 504}
REFUSAL_STATUS = {400, 413, 422}


class NotAuthorised(StoreUnavailable):
    """401 or 403: a token, a password or a privilege an operator must fix; retried, since they may."""


class DatabaseNotFound(StoreUnavailable):
    """404 to a write: no such database (yet, or any more: dropped while we ran)."""


class Transport:
    def __init__(self, host: str, port: int, tls: bool = False, ca_file: str | None = None,
                 token: str | None = None, username: str | None = None, password: str | None = None,
                 timeout_s: float = TIMEOUT_S):
        self.host, self.port = host, port
        self.timeout_s = timeout_s
        self._ssl = ssl.create_default_context(cafile=ca_file) if tls else None
        self._token, self._username, self._password = token, username, password
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._ssl is not None:
                self._conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout_s, context=self._ssl)
            else:
                self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout_s)
        return self._conn

    def request(self, method: str, path: str, params: dict, body: bytes | None = None) -> tuple[int, dict, bytes]:
        headers = {"Content-Type": "text/plain; charset=utf-8"} if body is not None else {}
        if self._token:
            headers["Authorization"] = f"Token {self._token}"
        elif self._username:
            raw = f"{self._username}:{self._password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        url = path + ("?" + urlencode(params) if params else "")
        with self._lock:
            for attempt in (1, 2):  # a kept-alive connection the server closed gets one fresh try
                try:
                    conn = self._connection()
                    if conn.sock is None:
                        conn.connect()  # a timeout here is a server not there, below one that is loaded
                except OSError as exc:
                    self.close_connection()
                    raise StoreUnavailable(f"InfluxDB at {self.where}: {exc}") from exc
                try:
                    conn.request(method, url, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, dict(response.getheaders()), response.read()
                except TimeoutError as exc:  # connected, and no answer in time: loaded, not gone
                    self.close_connection()
                    raise StoreBusy(f"InfluxDB at {self.where} did not answer within {self.timeout_s:g} s "
                                    f"({method} {path}): the server is busy") from exc
                except (http.client.HTTPException, OSError) as exc:
                    self.close_connection()
                    if attempt == 2:
                        raise StoreUnavailable(f"InfluxDB at {self.where}: {exc}") from exc
        raise AssertionError("unreachable")

    def ping(self) -> str:
        """The server's version (``X-Influxdb-Version``; empty if it gives none)."""
        status, headers, _ = self.request("GET", "/ping", {})
        if status not in (200, 204):
            raise StoreUnavailable(f"InfluxDB at {self.where} answered /ping with {status}")
        return {k.lower(): v for k, v in headers.items()}.get("x-influxdb-version", "")

    def write(self, database: str, lines: list[str], precision: str) -> str | None:
        """Write points; None if all were stored, else the server's message refusing some or all of them."""
        status, headers, body = self.request("POST", "/write", {"db": database, "precision": precision},
                                             "\n".join(lines).encode())
        if status < 300:
            return None
        if status in REFUSAL_STATUS:
            return server_message(body)
        raise unavailable(status, headers, body, "write", database)

    def query(self, database: str, q: str, write: bool = False) -> list[dict]:
        """The series an InfluxQL statement answers (POST for statements that change something)."""
        status, headers, body = self.request("POST" if write else "GET", "/query",
                                             {"db": database, "q": q, "epoch": "ms"})
        if status == 400:
            raise StoreError(f"InfluxDB refused a query: {server_message(body)} in {q[:200]}")
        if status >= 300:
            raise unavailable(status, headers, body, "query", database)
        series = []
        for result in json.loads(body).get("results", []):
            if "error" in result:
                raise StoreError(f"InfluxQL error: {result['error']} in {q[:200]}")
            series.extend(result.get("series", []))
        return series

    def close_connection(self) -> None:
        """Drop the connection (the caller holds the lock): an answer still on its way must not be read as the
        next request's."""
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self.close_connection()


def server_message(body: bytes) -> str:
    """The ``error`` (1.x) or ``message`` (2.x) of an answer's JSON body, else its text; at most 300 characters."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict):
        text = str(data.get("error") or data.get("message") or text)
    return text[:300]


def unavailable(status: int, headers: dict, body: bytes, what: str, database: str) -> StoreUnavailable:
    """What a failed answer that is not a refusal means, as the exception the writer retries."""
    text = server_message(body)
    if status in (401, 403):
        return NotAuthorised(f"InfluxDB {what}: not authorised (HTTP {status}); check the token or password: {text}")
    if status == 404:
        return DatabaseNotFound(f"InfluxDB {what}: database {database!r} not found (HTTP 404): {text}")
    retry_after_s = None
    if status in RETRIABLE_STATUS:
        retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after")
        try:
            retry_after_s = float(retry_after) if retry_after else None
        except ValueError:  # an HTTP date: rare enough to fall back on our own backoff
            retry_after_s = None
    return StoreUnavailable(f"InfluxDB {what}: HTTP {status} {text}", retry_after_s)
