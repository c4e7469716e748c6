"""A file on an HTTP server as a byte source: ``read_at`` through Range requests, nothing more.

One ``HttpSession`` per chosen host (a hub or a mirror): it counts requests and bytes, sends the
token only to that host, and does not follow a redirect to another host (the mirror guard, issue 4).
``HttpSource`` keeps what it fetched, so a reader's later reads of the same bytes cost nothing, and
copes with servers that ignore Range by reading only as far as needed and then closing.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator
from urllib.parse import urljoin, urlsplit

from ..errors import OffHostRedirect, SourceError, TransferError

#: Bytes of fetched spans a source keeps (headers are far smaller; a 9 MB GGUF header fits).
MAX_CACHED = 64 << 20
#: Redirects followed on the chosen host before giving up.
MAX_REDIRECTS = 5
#: Seconds to wait for a connection or the next bytes of a response.
TIMEOUT = 30.0


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
    off the chosen host).
    """

    def __init__(
        self, endpoint: str, *, token: str | None = None, allowed: tuple[str, ...] = (),
        follow_any: bool = False, timeout: float = TIMEOUT,
    ) -> None:  # fmt: skip
        import httpx2  # lazy: only remote targets pay for it

        self.endpoint = endpoint.rstrip("/")
        self.host = host_of(self.endpoint)
        self._origin = origin(self.endpoint)
        self._token = token
        self._allowed = allowed
        self.follow_any = follow_any
        self._client = httpx2.Client(follow_redirects=False, timeout=timeout, trust_env=True)
        self._lock = threading.Lock()
        #: Requests sent and body bytes received through this session.
        self.requests = 0
        self.bytes = 0
        #: Hosts a redirect was followed to (with ``follow_any``).
        self.left_for: list[str] = []

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
        if extra:
            h.update(extra)
        return h

    @contextmanager
    def stream(self, method: str, url: str, name: str, extra: dict[str, str] | None = None) -> Iterator:
        """An open response for ``url`` after on-host redirects; errors become ``SourceError``."""
        import httpx2

        for _ in range(MAX_REDIRECTS + 1):
            self.count(requests=1)
            try:
                req = self._client.build_request(method, url, headers=self.headers(url, extra))
                resp = self._client.send(req, stream=True)
            except httpx2.HTTPError as e:
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
            try:
                yield resp
            except httpx2.HTTPError as e:
                raise TransferError(name, f"connection to {host_of(url)} broke: {_reason(e)}") from None
            finally:
                resp.close()
            return
        raise SourceError(name, f"more than {MAX_REDIRECTS} redirects")

    def count(self, requests: int = 0, nbytes: int = 0) -> None:
        """Add to the session's counters (thread-safe: downloads run in parallel)."""
        with self._lock:
            self.requests += requests
            self.bytes += nbytes

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> "HttpSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(e: Exception) -> str:
    return str(e) or type(e).__name__


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
                 first_request: int = 0) -> None:  # fmt: skip
        self.session = session
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
        return self._size  # type: ignore[return-value]

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
