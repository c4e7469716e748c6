"""A file on an HTTP server as a byte source: ``read_at`` through Range requests, nothing more.

One ``HttpSession`` per chosen host (a hub or a mirror): it counts requests and bytes, sends the
token only to that host, and does not follow a redirect to another host (the mirror guard, issue 4).
``HttpSource`` keeps what it fetched, so a reader's later reads of the same bytes cost nothing, and
copes with servers that ignore Range by reading only as far as needed and then closing.
"""

from __future__ import annotations

import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ..errors import DeadlineError, Interrupted, LimitError, OffHostRedirect, SourceError, TransferError

if TYPE_CHECKING:
    import httpx2

#: Bytes of fetched spans a source keeps (headers are far smaller; a 9 MB GGUF header fits).
MAX_CACHED = 64 << 20
#: Redirects followed on the chosen host before giving up.
MAX_REDIRECTS = 5
#: Seconds to wait for a connection or for the next bytes of a response (the idle timeout per read).
TIMEOUT = 30.0
#: Seconds to wait for a connection: a host that is down or unreachable is reported within a few seconds.
CONNECT_TIMEOUT = 5.0
#: Default deadline, in seconds, of one command's listing and header reads (``--timeout``).
DEFAULT_DEADLINE = 300.0


class Deadline:
    """The moment a command's network work must be over; shared by every session of the command."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or ``None`` without a deadline."""
        return None if self.end is None else max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.end is not None and time.monotonic() >= self.end


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, with the scheme's default port."""
    u = urlsplit(url)
    return (u.scheme, (u.hostname or "").lower(), u.port or {"http": 80, "https": 443}.get(u.scheme, 0))


def host_of(url: str) -> str:
    """``host[:port]`` of a URL, for messages."""
    return urlsplit(url).netloc or url


class HttpSession:
    """HTTP for one chosen host: counted, token only to that host, no silent redirect elsewhere.

    ``allowed`` lists other origins a redirect may go to (e.g. huggingface.co's own CDN hosts when
    the chosen host is huggingface.co); ``follow_any`` lifts the guard (the token is still never sent
    off the chosen host). ``timeout`` is the idle timeout of each read (and of connecting, capped at
    ``CONNECT_TIMEOUT``); ``deadline`` ends every transfer when it passes.
    """

    def __init__(
        self, endpoint: str, *, token: str | None = None, allowed: tuple[str, ...] = (),
        follow_any: bool = False, timeout: float = TIMEOUT, deadline: Deadline | None = None,
        cookie: str | None = None,
    ) -> None:  # fmt: skip
        import httpx2  # lazy: only remote targets pay for it

        self.endpoint = endpoint.rstrip("/")
        self.host = host_of(self.endpoint)
        self._origin = origin(self.endpoint)
        self._token = token
        self._cookie = cookie
        self._allowed = allowed
        self.follow_any = follow_any
        self.idle = timeout
        self.deadline = deadline or Deadline(None)
        self._client = httpx2.Client(follow_redirects=False, timeout=timeout, trust_env=True)
        self._lock = threading.Lock()
        #: Requests sent and body bytes received through this session.
        self.requests = 0
        self.bytes = 0
        #: Hosts a redirect was followed to (with ``follow_any``).
        self.left_for: list[str] = []
        #: Why every transfer was stopped (``"deadline"`` or ``"interrupted"``), once ``abort`` ran.
        self.aborted: str | None = None
        self._open: set[httpx2.Response] = set()
        # A read blocked on a server that trickles bytes is woken at the deadline: ``abort`` shuts its socket.
        left = self.deadline.remaining()
        self._watchdog = threading.Timer(left, self.abort, ("deadline",)) if left is not None else None
        if self._watchdog is not None:
            self._watchdog.daemon = True
            self._watchdog.start()

    def abort(self, reason: str) -> None:
        """Stop every transfer of this session now (deadline passed, Ctrl-C): their sockets are shut."""
        with self._lock:
            if self.aborted is None:
                self.aborted = reason
            responses = list(self._open)
        for resp in responses:
            stream = resp.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by its reader

    def check(self, name: str) -> None:
        """Raise the one-line error for an aborted session or a passed deadline."""
        if self.aborted is None and self.deadline.expired():
            self.aborted = "deadline"
        if self.aborted == "interrupted":
            raise Interrupted(name, "interrupted")
        if self.aborted == "deadline":
            raise DeadlineError(name, f"{self.host} did not finish within the --timeout of {self.deadline.seconds:g} s; stopped")

    def _timeout(self) -> httpx2.Timeout:
        import httpx2

        left = self.deadline.remaining()
        idle = self.idle if left is None else max(0.01, min(self.idle, left))
        return httpx2.Timeout(idle, connect=min(idle, CONNECT_TIMEOUT))

    def on_host(self, url: str) -> bool:
        """Whether ``url`` is served by the chosen host."""
        return origin(url) == self._origin

    def _allowed_target(self, url: str) -> bool:
        host = origin(url)[1]
        return self.on_host(url) or any(host == a or host.endswith("." + a) for a in self._allowed)

    def headers(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Request headers for ``url``: the token only when ``url`` is on the chosen host."""
        h = {"Accept-Encoding": "identity", "User-Agent": "mfi"}
        if self._token and self.on_host(url):
            h["Authorization"] = f"Bearer {self._token}"
            if self._cookie:  # ModelScope's older endpoints read the token from this cookie (modelscope_hub _legacy_api)
                h["Cookie"] = f"{self._cookie}={self._token}"
        if extra:
            h.update(extra)
        return h

    @contextmanager
    def stream(self, method: str, url: str, name: str, extra: dict[str, str] | None = None) -> Iterator[httpx2.Response]:
        """An open response for ``url`` after on-host redirects; errors become ``SourceError``."""
        import httpx2

        for _ in range(MAX_REDIRECTS + 1):
            self.check(name)
            self.count(requests=1)
            try:
                req = self._client.build_request(method, url, headers=self.headers(url, extra), timeout=self._timeout())
                resp = self._client.send(req, stream=True)
            except httpx2.ConnectTimeout:
                self.check(name)
                raise TransferError(name, f"cannot reach {host_of(url)}: no connection within {CONNECT_TIMEOUT:g} s (no network?)") from None
            except httpx2.TimeoutException:
                self.check(name)
                raise TransferError(name, f"{host_of(url)} did not answer within {self.idle:g} s") from None
            except httpx2.HTTPError as e:
                self.check(name)
                raise TransferError(name, f"cannot reach {host_of(url)}: {_reason(e)} (no network?)") from None
            if resp.status_code in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                resp.close()
                target = urljoin(url, resp.headers["Location"])
                if not self._allowed_target(target):
                    if not self.follow_any:
                        raise OffHostRedirect(
                            name, f"{host_of(url)} redirected to {host_of(target)}, off the chosen mirror; not followed "
                            "(allow_redirects, --allow-redirects on the command line, follows it without the token)")  # fmt: skip
                    self.left_for.append(host_of(target))
                url = target
                continue
            with self._lock:
                self._open.add(resp)
            try:
                yield resp
            except httpx2.TimeoutException:
                self.check(name)
                raise TransferError(name, f"{host_of(url)} sent nothing for {self.idle:g} s; stopped") from None
            except httpx2.HTTPError as e:
                self.check(name)
                raise TransferError(name, f"connection to {host_of(url)} broke: {_reason(e)}") from None
            finally:
                with self._lock:
                    self._open.discard(resp)
                resp.close()
            self.check(name)  # a socket shut by ``abort`` ends a body early: not a complete answer
            return
        raise SourceError(name, f"more than {MAX_REDIRECTS} redirects")

    def count(self, requests: int = 0, nbytes: int = 0) -> None:
        """Add to the session's counters (thread-safe: downloads run in parallel)."""
        with self._lock:
            self.requests += requests
            self.bytes += nbytes

    def close(self) -> None:
        """Close the connections."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._client.close()

    def __enter__(self) -> "HttpSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(e: Exception) -> str:
    return str(e) or type(e).__name__


def read_body(session: HttpSession, resp: httpx2.Response, name: str, cap: int) -> bytes:
    """The whole body of ``resp``, refused past ``cap`` bytes as sent and ``cap`` bytes decoded.

    ``Accept-Encoding: identity`` is asked for; a server that compresses anyway is decoded here, a
    bounded step at a time (``zlib``'s ``max_length``), so a gzip bomb costs at most ``cap``.
    """
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
        raise SourceError(name, f"{session.host} sent the answer in {encoding!r} encoding, which mfi does not decode; refused")
    inflate = None if encoding in ("identity", "") else zlib.decompressobj(47 if "gzip" in encoding else zlib.MAX_WBITS)
    too_big = SourceError(name, f"{session.host} sent an answer over the {cap:,}-byte cap; stopped")
    out = bytearray()
    sent = 0
    for chunk in resp.iter_raw():
        session.check(name)
        sent += len(chunk)
        session.count(nbytes=len(chunk))
        if sent > cap:
            raise too_big
        if inflate is None:
            out += chunk
            continue
        try:
            out += inflate.decompress(chunk, cap + 1 - len(out))
            while inflate.unconsumed_tail and len(out) <= cap:
                out += inflate.decompress(inflate.unconsumed_tail, cap + 1 - len(out))
        except zlib.error:
            raise SourceError(name, f"{session.host} sent a corrupt {encoding} answer") from None
        if len(out) > cap:
            raise too_big
    return bytes(out)


def status_error(name: str, status: int, host: str) -> SourceError:
    """A one-line error for an HTTP status the caller did not expect."""
    what = {401: "needs a token (gated or private; pass --token)", 403: "access denied",
            404: "not found", 416: "range not satisfiable"}.get(status, "server error")  # fmt: skip
    return SourceError(name, f"{host} answered HTTP {status}: {what}")


class HttpSource:
    """One remote file read with Range requests; what was fetched is kept and reused.

    ``size`` may be given (from a listing) to save a request; otherwise the first fetch learns it.
    ``first_request`` sizes the first fetch (100 KB fits most safetensors headers in one request).
    """

    def __init__(self, session: HttpSession, url: str, *, name: str | None = None, size: int | None = None,
                 first_request: int = 0, budget: int | None = None) -> None:  # fmt: skip
        self.session = session
        #: Most bytes this source may fetch (a remote scan's ``limits.MAX_REMOTE_READ``); ``None``: no cap.
        self.budget = budget
        self.url = url
        self.name = name or url
        self._size = size
        self._first = first_request
        self._spans: list[tuple[int, bytes]] = []  # sorted, non-overlapping
        #: Requests and body bytes this source cost (bytes include any a server sent unasked).
        self.requests = 0
        self.bytes_read = 0
        #: Set when the server answered a Range request with the whole file.
        self.ignored_range = False
        self.etag: str | None = None

    @property
    def size(self) -> int:
        """Size of the file (learnt from the first response when not given)."""
        if self._size is None:
            self._fetch(0, max(self._first, 1 << 16))
        return self._size  # type: ignore[return-value]  # _fetch set it; mypy keeps the narrowing to None across the call

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; fetched spans are reused."""
        size = self.size
        if length <= 0 or offset >= size:
            return b""
        end = min(offset + length, size)
        while True:
            have = self._covered(offset)
            if have >= end:
                break
            want_end = end if self.requests else max(end, min(size, self._first))
            self._fetch(have, want_end)
        return self._slice(offset, end)

    def preload(self, spans: list[tuple[int, bytes]]) -> None:
        """Start from bytes kept by an earlier read of the same file version (``hub.headercache``)."""
        for start, data in spans:
            self._keep(start, data)

    def spans(self) -> list[tuple[int, bytes]]:
        """The bytes this source holds, as (offset, data) in order."""
        return list(self._spans)

    # -- cache ---------------------------------------------------------------------------
    def _covered(self, offset: int) -> int:
        """How far the cache covers contiguously from ``offset`` (``offset`` if not at all)."""
        pos = offset
        for start, data in self._spans:
            if start <= pos < start + len(data):
                pos = start + len(data)
        return pos

    def _slice(self, a: int, b: int) -> bytes:
        out = []
        for start, data in self._spans:
            lo, hi = max(a, start), min(b, start + len(data))
            if lo < hi:
                out.append(data[lo - start : hi - start])
        return b"".join(out)

    def _keep(self, start: int, data: bytes) -> None:
        spans = self._spans + [(start, data)]
        spans.sort()
        merged: list[tuple[int, bytes]] = []
        for s, d in spans:
            if merged and s <= merged[-1][0] + len(merged[-1][1]):
                ps, pd = merged[-1]
                if s + len(d) > ps + len(pd):
                    merged[-1] = (ps, pd + d[ps + len(pd) - s :])
            else:
                merged.append((s, d))
        while sum(len(d) for _, d in merged) > MAX_CACHED and len(merged) > 1:
            merged.pop(0)
        self._spans = merged

    # -- network -------------------------------------------------------------------------
    def _fetch(self, a: int, b: int) -> None:
        """Fetch bytes ``[a, b)`` with one Range request; a server ignoring Range is cut off at ``b``."""
        s = self.session
        if self.budget is not None and self.bytes_read + (b - a) > self.budget:
            raise LimitError(self.name, f"reading {b - a:,} bytes from byte {a:,} would pass the {self.budget:,} bytes "
                                        "read remotely from one file; pull it and check the local copy")  # fmt: skip
        self.requests += 1
        with s.stream("GET", self.url, self.name, {"Range": f"bytes={a}-{b - 1}"}) as r:
            if r.status_code not in (200, 206):
                raise status_error(self.name, r.status_code, s.host)
            self.etag = (r.headers.get("X-Linked-Etag") or r.headers.get("ETag") or "").strip('"') or None
            if r.status_code == 206:
                start, total = content_range(self.name, r.headers.get("Content-Range", ""))
                if start != a:
                    raise SourceError(self.name, f"asked for byte {a}, the server sent from byte {start}")
                skip = 0
            else:
                self.ignored_range = True
                total = int(r.headers.get("Content-Length") or -1)
                start, skip = 0, a
            if self._size is None:
                if total < 0:
                    raise SourceError(self.name, f"{s.host} gives neither Content-Range nor Content-Length")
                self._size = total
            want = min(b, self._size) - a
            got = bytearray()
            received = 0
            for chunk in r.iter_raw():
                s.check(self.name)
                received += len(chunk)
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                got += chunk
                if len(got) >= want:
                    break  # closing the response stops a server that ignored Range
            self.bytes_read += received
            s.count(nbytes=received)
        if len(got) < want and (r.status_code == 206 or a + len(got) < (self._size or 0)):
            raise SourceError(self.name, f"{s.host} sent {len(got)} of {want} bytes from byte {a}", a + len(got))
        self._keep(a, bytes(got[:want]))


def content_range(name: str, value: str) -> tuple[int, int]:
    """(first byte, total size) from ``bytes a-b/total``."""
    try:
        unit, _, rest = value.partition(" ")
        span, _, total = rest.partition("/")
        return int(span.split("-")[0]), int(total)
    except ValueError:
        raise SourceError(name, f"bad Content-Range header {value!r}") from None
