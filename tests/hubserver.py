"""A small test hub on 127.0.0.1 speaking the Hugging Face and ModelScope HTTP protocols.

It serves a folder of repos (``root/org/name/...``) the way the real hubs answer the real clients
(``huggingface_hub`` 2.x, ``modelscope_hub``), counts requests and bytes, and injects faults:
a connection dropped mid-file, a corrupted byte, Range ignored, a redirect to a foreign host.
It stops by itself after ``lifetime`` seconds, so a hung test cannot keep it alive.

Hugging Face: ``GET /api/models/{id}[/revision/{rev}]``, ``GET /api/models/{id}/tree/{rev}[/{path}]``
(paginated with a ``Link: <...>; rel="next"`` header), ``HEAD|GET /{id}/resolve/{rev}/{path}``.
ModelScope: ``GET /api/v1/models/{id}``, ``.../revisions``, ``.../repo/files``, ``.../repo?FilePath=``,
answers wrapped in ``{"Code": 200, "Success": true, "Data": ...}``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

TOKEN = "hf_test_token"
LFS_MIN = 1024  # files at least this big are "LFS" files (sha256 etag); smaller ones are plain git blobs


def git_blob_sha1(data: bytes) -> str:
    """Git's object id of a blob: sha1 over ``blob {size}\\0`` + content."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).hexdigest()


@dataclass
class RepoEntry:
    """One file of a served repo."""

    path: str
    data: bytes
    sha256: str
    oid: str

    @property
    def lfs(self) -> bool:
        return len(self.data) >= LFS_MIN


@dataclass
class Faults:
    """Faults to inject; tests set these between requests."""

    #: file path -> bytes sent before the connection is dropped (GET of the whole file only).
    drop_after: dict[str, int] = field(default_factory=dict)
    #: How many times each drop fires (then the file is served normally).
    drop_times: int = 1
    #: file path -> absolute byte offset whose value is flipped in every response.
    corrupt: dict[str, int] = field(default_factory=dict)
    #: Answer 200 with the whole body to Range requests.
    ignore_range: bool = False
    #: file paths whose GET/HEAD is redirected to ``redirect_to`` (another origin).
    redirect: set[str] = field(default_factory=set)
    redirect_to: str = ""
    #: A hostile listing: this commit id instead of the real one (API ``sha``, ``X-Repo-Commit``).
    commit: str | None = None
    #: A hostile listing: file path -> the sha256 the listings publish instead of the real one.
    sha256: dict[str, str] = field(default_factory=dict)
    #: file path -> bytes streamed past the file's end on a whole-file GET, with no Content-Length.
    overlong: dict[str, int] = field(default_factory=dict)
    #: The ``Content-Range`` header sent with every 206 answer instead of the real one.
    content_range: str | None = None
    #: Leave sizes out of the API siblings (clients then page through the tree listing).
    no_sizes: bool = False
    #: Every tree page answers with a ``Link: next`` to cursor 1 (a pagination loop).
    tree_loop: bool = False
    # -- a hostile mirror (issue 10); every mode is bounded in time (the hub's lifetime) and bytes --
    #: Files added to every repo's listings and downloads (names no real repo can hold: ``.git/config``).
    extra: dict[str, bytes] = field(default_factory=dict)
    #: The listing (HF model info, ModelScope repo/files) sent gzip-encoded, inflating to this many bytes.
    listing_gzip_bomb: int = 0
    #: The listing padded to this many bytes (a ``siblings`` array of made-up files), sent without a length.
    listing_size: int = 0
    #: The listing answered with a redirect to this origin.
    listing_redirect: str = ""
    #: "listing" or a file path -> seconds between single bytes of the body (a server that trickles).
    trickle: dict[str, float] = field(default_factory=dict)
    #: "listing" or a file path: headers sent, then nothing (a server that stalls).
    stall: set[str] = field(default_factory=set)
    #: Seconds before every answer (a slow link: the bench uses 0.1).
    delay: float = 0.0
    #: file path -> bytes sent per 0.1 s on a whole-file GET (a slow download).
    throttle: dict[str, int] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    """The HTTP server, quiet when a client goes away mid-request (a test's deadline or Ctrl-C shuts sockets)."""

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - socketserver's signature
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # socketserver would print a traceback to stderr, where the CLI tests read one line
        super().handle_error(request, client_address)


class HubServer:
    """The server; use as a context manager. ``url`` is its endpoint."""

    def __init__(self, root: Path, *, gated: set[str] = frozenset(), page_size: int = 50, lifetime: float = 60.0) -> None:
        self.root = Path(root)
        self.gated = set(gated)
        self.page_size = page_size
        self.lifetime = lifetime
        self.faults = Faults()
        self.log: list[tuple[str, str, str | None]] = []  # (method, path, range)
        #: Paths of requests that carried an Authorization header or session cookie.
        self.authorized: list[str] = []
        self.bytes_sent = 0
        #: Body bytes sent per request path.
        self.sent_by_path: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._drops: dict[str, int] = {}
        self.repos = self._load()
        self.httpd = _Server(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    # -- repos -------------------------------------------------------------------------
    def _load(self) -> dict[str, tuple[str, dict[str, RepoEntry]]]:
        repos = {}
        for org in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for repo in sorted(p for p in org.iterdir() if p.is_dir()):
                files = {}
                for f in sorted(p for p in repo.rglob("*") if p.is_file()):
                    data = f.read_bytes()
                    rel = f.relative_to(repo).as_posix()
                    files[rel] = RepoEntry(rel, data, hashlib.sha256(data).hexdigest(), git_blob_sha1(data))
                commit = hashlib.sha1("".join(e.oid for e in files.values()).encode()).hexdigest()
                repos[f"{org.name}/{repo.name}"] = (commit, files)
        return repos

    def commit(self, repo_id: str) -> str:
        """The commit every branch of ``repo_id`` points at (40 hex unless a fault says otherwise)."""
        return self.faults.commit if self.faults.commit is not None else self.repos[repo_id][0]

    def files(self, repo_id: str) -> dict[str, RepoEntry]:
        """The files of ``repo_id`` as served, with any ``faults.extra`` files added."""
        files = dict(self.repos[repo_id][1])
        for path, data in self.faults.extra.items():
            files[path] = RepoEntry(path, data, hashlib.sha256(data).hexdigest(), git_blob_sha1(data))
        return files

    def listed_sha256(self, entry: RepoEntry) -> str:
        """The sha256 the listings publish for ``entry`` (a fault may replace it)."""
        return self.faults.sha256.get(entry.path, entry.sha256)

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "HubServer":
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        self._timer.cancel()
        self._stopped.set()  # ends trickling, stalled and throttled answers
        if self._thread.is_alive():
            self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "HubServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counters ----------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the request log and byte count."""
        with self._lock:
            self.log.clear()
            self.authorized.clear()
            self.sent_by_path.clear()
            self.bytes_sent = 0

    @property
    def requests(self) -> int:
        """Requests served since the last reset."""
        return len(self.log)

    def _record(self, method: str, path: str, rng: str | None) -> None:
        with self._lock:
            self.log.append((method, path, rng))

    def _sent(self, n: int, path: str = "") -> None:
        with self._lock:
            self.bytes_sent += n
            self.sent_by_path[path] = self.sent_by_path.get(path, 0) + n

    def _take_drop(self, path: str) -> int | None:
        with self._lock:
            if path not in self.faults.drop_after or self._drops.get(path, 0) >= self.faults.drop_times:
                return None
            self._drops[path] = self._drops.get(path, 0) + 1
            return self.faults.drop_after[path]


def _handler(hub: HubServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "mfi-testhub"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        # -- plumbing --------------------------------------------------------------------
        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
                hub._sent(len(body), urlsplit(self.path).path)

        def _json(self, obj, status: int = 200, headers: dict | None = None) -> None:
            self._send(status, json.dumps(obj).encode(), headers)

        def _hf_error(self, status: int, code: str, message: str) -> None:
            self._json({"error": message}, status, {"X-Error-Code": code, "X-Error-Message": message})

        def _ms_error(self, status: int, message: str) -> None:
            self._json({"Code": 10010205001, "Success": False, "Message": message, "RequestId": "test"}, status)

        def _authorized(self, repo_id: str) -> bool:
            if repo_id not in hub.gated:
                return True
            auth = self.headers.get("Authorization", "")
            return auth == f"Bearer {TOKEN}" or f"m_session_id={TOKEN}" in self.headers.get("Cookie", "")

        def do_HEAD(self) -> None:
            self._route()

        def do_GET(self) -> None:
            self._route()

        def _route(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            hub._record(self.command, path, self.headers.get("Range"))
            if self.headers.get("Authorization") or "m_session_id" in self.headers.get("Cookie", ""):
                hub.authorized.append(path)
            if hub.faults.delay:
                time.sleep(hub.faults.delay)
            try:
                if path.startswith("/api/v1/models/"):
                    return self._modelscope(path[len("/api/v1/models/") :], query)
                if path.startswith("/api/models/"):
                    return self._hf_api(path[len("/api/models/") :], query)
                parts = [unquote(x) for x in url.path.lstrip("/").split("/", 4)]  # a quoted revision may hold "/"
                if len(parts) == 5 and parts[2] == "resolve":
                    return self._hf_resolve(f"{parts[0]}/{parts[1]}", parts[3], parts[4])
                self._send(404, b"not found", ctype="text/plain")
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                pass

        # -- hostile answers -------------------------------------------------------------
        def _hostile_listing(self, listing: dict) -> bool:
            """Answer a listing request the way a hostile mirror would, if a fault says so."""
            f = hub.faults
            if f.listing_redirect:
                self._send(302, b"", {"Location": f.listing_redirect + self.path}, ctype="text/plain")
                return True
            if f.listing_gzip_bomb:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self._stream_chunks(_gzip_zeros(f.listing_gzip_bomb))
                return True
            if f.listing_size:
                key = "siblings" if "siblings" in listing else "Data"
                head = json.dumps({**listing, key: []})[:-2].encode()  # the list left open: '..."siblings": ['

                def body():
                    yield head
                    sent, i = len(head), 0
                    while sent < f.listing_size:
                        item = json.dumps({"rfilename": f"pad/{i:09d}.bin", "size": 1, "blobId": "0" * 40}).encode() + b","
                        yield item * 512
                        sent += len(item) * 512
                        i += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                self._stream_chunks(body())
                return True
            return self._slow("listing", json.dumps(listing).encode())

        def _slow(self, what: str, body: bytes, headers: dict | None = None, status: int = 200) -> bool:
            """Trickle or stall ``body`` if a fault names ``what``; False when it does not."""
            f = hub.faults
            if what not in f.trickle and what not in f.stall:
                return False
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            if what in f.stall:
                hub._stopped.wait(hub.lifetime)
                return True
            for i in range(len(body)):
                if hub._stopped.wait(f.trickle[what]):
                    break
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                hub._sent(1, urlsplit(self.path).path)
            return True

        def _stream_chunks(self, chunks) -> None:
            for chunk in chunks:
                if hub._stopped.is_set():
                    break
                self.wfile.write(chunk)
                hub._sent(len(chunk), urlsplit(self.path).path)

        # -- Hugging Face ----------------------------------------------------------------
        def _repo(self, repo_id: str, rev: str, hf: bool = True):
            if repo_id not in hub.repos:
                (self._hf_error(404, "RepoNotFound", "Repository not found") if hf else self._ms_error(404, "model not found"))
                return None
            if not self._authorized(repo_id):
                if hf:
                    self._hf_error(401, "GatedRepo", "Access to model is restricted. You must have access to it and be authenticated.")
                else:
                    self._ms_error(401, "authentication required")
                return None
            commit, files = hub.commit(repo_id), hub.files(repo_id)
            if rev not in ("main", "master", commit):
                (self._hf_error(404, "RevisionNotFound", f"Invalid rev id: {rev}") if hf else self._ms_error(404, f"revision {rev} not found"))
                return None
            return commit, files

        def _hf_api(self, rest: str, query: dict) -> None:
            bits = rest.split("/")
            repo_id = "/".join(bits[:2])
            tail = bits[2:]
            rev = "main"
            if tail[:1] == ["revision"] and len(tail) == 2:
                rev = tail[1]
            elif tail[:1] == ["tree"] and len(tail) >= 2:
                return self._hf_tree(repo_id, tail[1], "/".join(tail[2:]), query)
            elif tail:
                return self._send(404, b"not found", ctype="text/plain")
            found = self._repo(repo_id, rev)
            if found is None:
                return
            commit, files = found
            blobs = query.get("blobs") in ("True", "true", "1")
            siblings = []
            for e in files.values():
                s: dict = {"rfilename": e.path}
                if blobs and not hub.faults.no_sizes:
                    s.update(size=len(e.data), blobId=e.oid)
                    if e.lfs:
                        s["lfs"] = {"size": len(e.data), "sha256": hub.listed_sha256(e), "pointerSize": 134}
                siblings.append(s)
            listing = {
                "_id": "0" * 24, "id": repo_id, "modelId": repo_id, "sha": commit, "private": False,
                "gated": "manual" if repo_id in hub.gated else False, "disabled": False,
                "tags": [], "siblings": siblings,
            }  # fmt: skip
            if not self._hostile_listing(listing):
                self._json(listing)

        def _hf_tree(self, repo_id: str, rev: str, sub: str, query: dict) -> None:
            found = self._repo(repo_id, rev)
            if found is None:
                return
            commit, files = found
            recursive = query.get("recursive") in ("True", "true", "1")
            prefix = sub.strip("/") + "/" if sub.strip("/") else ""
            items: list[dict] = []
            dirs: set[str] = set()
            for e in files.values():
                if not e.path.startswith(prefix):
                    continue
                rest = e.path[len(prefix) :]
                if "/" in rest and not recursive:
                    dirs.add(prefix + rest.split("/")[0])
                    continue
                for i in range(rest.count("/")):
                    dirs.add(prefix + "/".join(rest.split("/")[: i + 1]))
                item = {"type": "file", "oid": e.oid, "size": len(e.data), "path": e.path}
                if e.lfs:
                    item["lfs"] = {"oid": hub.listed_sha256(e), "size": len(e.data), "pointerSize": 134}
                items.append(item)
            items += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in dirs]
            items.sort(key=lambda x: x["path"])
            start = int(query.get("cursor", "0"))
            page = items[start : start + hub.page_size]
            headers = {}
            if hub.faults.tree_loop:
                headers["Link"] = f'<{hub.url}/api/models/{repo_id}/tree/{quote(rev, safe="")}?recursive={recursive}&cursor=1>; rel="next"'
            elif start + hub.page_size < len(items):
                nxt = f"{hub.url}/api/models/{repo_id}/tree/{quote(rev, safe='')}"
                nxt += (("/" + quote(sub, safe="/")) if sub else "") + f"?recursive={recursive}&expand=False&cursor={start + hub.page_size}"
                headers["Link"] = f'<{nxt}>; rel="next"'
            self._json(page, headers=headers)

        def _hf_resolve(self, repo_id: str, rev: str, fpath: str) -> None:
            found = self._repo(repo_id, unquote(rev))
            if found is None:
                return
            commit, files = found
            entry = files.get(fpath)
            if entry is None:
                return self._hf_error(404, "EntryNotFound", f"{fpath} does not exist on {rev}")
            headers = {"X-Repo-Commit": commit, "ETag": f'"{entry.sha256 if entry.lfs else entry.oid}"'}
            if entry.lfs:
                headers["X-Linked-Etag"] = f'"{entry.sha256}"'
                headers["X-Linked-Size"] = str(len(entry.data))
            if fpath in hub.faults.redirect and hub.faults.redirect_to:
                headers["Location"] = f"{hub.faults.redirect_to}/{repo_id}/resolve/{commit}/{quote(fpath)}"
                return self._send(302, b"", headers, ctype="text/plain")
            self._serve_file(fpath, entry.data, headers)

        # -- bytes -----------------------------------------------------------------------
        def _serve_file(self, fpath: str, data: bytes, headers: dict) -> None:
            if fpath in hub.faults.corrupt:
                at = hub.faults.corrupt[fpath]
                data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
            headers = {**headers, "Accept-Ranges": "bytes"}
            rng = self.headers.get("Range")
            status, start, end = 200, 0, len(data)
            if rng and not hub.faults.ignore_range and self.command == "GET":
                spec = rng.strip().removeprefix("bytes=")
                a, _, b = spec.partition("-")
                if a == "":
                    start, end = max(0, len(data) - int(b)), len(data)
                else:
                    start, end = int(a), (min(int(b) + 1, len(data)) if b else len(data))
                if start >= len(data) or start >= end:
                    return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, ctype="text/plain")
                status = 206
                headers["Content-Range"] = hub.faults.content_range or f"bytes {start}-{end - 1}/{len(data)}"
            body = data[start:end]
            if self.command == "GET" and self._slow(fpath, body, headers, status):
                return None
            if status == 200 and self.command == "GET" and fpath in hub.faults.throttle:
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                step = hub.faults.throttle[fpath]
                for i in range(0, len(body), step):
                    if hub._stopped.wait(0.1):
                        break
                    self.wfile.write(body[i : i + step])
                    self.wfile.flush()
                    hub._sent(len(body[i : i + step]), urlsplit(self.path).path)
                return None
            if status == 200 and self.command == "GET" and fpath in hub.faults.overlong:
                return self._send_overlong(body, hub.faults.overlong[fpath], headers)
            drop = hub._take_drop(fpath) if self.command == "GET" and status == 200 else None
            if drop is None:
                return self._send(status, body, headers, ctype="application/octet-stream")
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:drop])
            self.wfile.flush()
            hub._sent(min(drop, len(body)), urlsplit(self.path).path)
            self.close_connection = True
            self.connection.shutdown(2)

        def _send_overlong(self, body: bytes, extra: int, headers: dict) -> None:
            """The file, then ``extra`` more bytes, with no Content-Length (the end is the connection's end)."""
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            sent = 0
            try:
                self.wfile.write(body)
                sent = len(body)
                while sent < len(body) + extra:
                    n = min(1 << 16, len(body) + extra - sent)
                    self.wfile.write(b"x" * n)
                    sent += n
            finally:
                hub._sent(sent, urlsplit(self.path).path)

        # -- ModelScope ------------------------------------------------------------------
        def _modelscope(self, rest: str, query: dict) -> None:
            bits = rest.split("/")
            repo_id = "/".join(bits[:2])
            tail = "/".join(bits[2:])
            rev = query.get("Revision", "master")
            found = self._repo(repo_id, rev, hf=False)
            if found is None:
                return
            commit, files = found
            ok = lambda data: self._json({"Code": 200, "Success": True, "Message": "success", "RequestId": "test", "Data": data})  # noqa: E731
            if tail == "":
                return ok({"Id": 1, "Name": bits[1], "Path": bits[0], "ModelType": [], "Revision": "master"})
            if tail == "revisions":
                return ok({"RevisionMap": {"Branches": [{"Revision": "master", "CommitId": commit}], "Tags": []}})
            if tail == "repo/files":
                entries = [
                    {"Name": e.path.rsplit("/", 1)[-1], "Path": e.path, "Size": len(e.data), "Sha256": hub.listed_sha256(e),
                     "Type": "blob", "IsLFS": e.lfs, "Revision": commit, "CommittedDate": 1700000000}
                    for e in files.values()
                ]  # fmt: skip
                doc = {"Code": 200, "Success": True, "Message": "success", "RequestId": "test", "Data": {"Files": entries}}
                if not self._hostile_listing(doc):
                    ok({"Files": entries})
                return None
            if tail == "repo":
                fpath = query.get("FilePath", "")
                entry = files.get(fpath)
                if entry is None:
                    return self._ms_error(404, f"file {fpath} not found")
                if fpath in hub.faults.redirect and hub.faults.redirect_to:
                    loc = f"{hub.faults.redirect_to}/api/v1/models/{repo_id}/repo?Revision={rev}&FilePath={quote(fpath)}"
                    return self._send(302, b"", {"Location": loc}, ctype="text/plain")
                return self._serve_file(fpath, entry.data, {"ETag": f'"{entry.sha256}"'})
            self._ms_error(404, "no such api")

    return Handler


def _gzip_zeros(n: int):
    """A gzip stream of ``n`` zero bytes, made a block at a time (a "gzip bomb": about n/1000 bytes sent)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    for _ in range(n // len(block)):
        out = comp.compress(block)
        if out:
            yield out
    yield comp.flush()


def build_repos(zoo: Path, root: Path) -> Path:
    """Lay the generated zoo out as hub repos under ``root`` (files are copied)."""
    import shutil

    def put(repo: str, src: Path, name: str | None = None) -> None:
        dest = root / repo / (name or src.name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)

    for model in ("qwen3-tiny", "llama-tiny", "qwen3-moe-tiny"):
        for f in sorted((zoo / model).iterdir()):
            put(f"test/{model}", f)
    put("test/llama-tiny-GGUF", zoo / "llama-tiny-Q4_K_M.gguf")
    for f in sorted((zoo / "split").glob("*.gguf")):
        put("test/llama-tiny-GGUF", f)
    (root / "test/llama-tiny-GGUF/README.md").write_text("# llama-tiny GGUF\n")
    put("test/qwen3-tiny-F16-GGUF", zoo / "qwen3-tiny-F16.gguf")
    for f in sorted((zoo / "llama-tiny").iterdir()):
        put("gated/llama-tiny", f)
    return root
