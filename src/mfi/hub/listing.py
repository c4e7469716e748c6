"""What a repo holds: the official clients' listing requests, sent and read here within bounds.

Hugging Face: the request ``HfApi(endpoint=...).model_info(files_metadata=True)`` sends gives the
commit and every file's size and LFS sha256 in one answer. When a server leaves sizes out, the
paginated tree API is read (``_hf_tree``), bounded: ``list_repo_tree`` follows ``Link: next``
without end. ModelScope: the request ``modelscope_hub.HubApi.list_repo_files`` sends, with an
explicit revision (``master`` by default): without one, ``model_file_download`` looks the revision
up on modelscope.cn even when another endpoint is given (issue 4). The clients themselves read
any answer whole, follow redirects anywhere and know no deadline (issue 10), so the bytes are
fetched here; tests check the test hub against the clients so the protocol stays theirs.
"""

from __future__ import annotations

import os
from urllib.parse import quote, quote_plus

from ..errors import SourceError
from ..sources.http import Deadline, HttpSession, host_of, read_body, status_error
from ..summary.fields import is_count
from .records import Mirror, RemoteFile, RepoListing


#: Most pages of a tree listing followed (the hub sends up to 1,000 files a page).
MAX_TREE_PAGES = 2_000
#: Most files one repo listing may hold (the largest model repos list tens of thousands).
MAX_REPO_FILES = 1_000_000
#: Largest tree listing page read (a 1,000-file page is a few hundred KB).
MAX_TREE_PAGE_BYTES = 16 << 20
#: Largest listing answer read, as sent and decoded (a 10,000-file repo lists in about 3 MB).
MAX_LISTING_BYTES = 32 << 20
#: ModelScope's ``REPO_FILES_TRUNCATION_LIMIT``: a ``repo/files`` answer holds at most this many entries.
MS_TRUNCATION = 3000


def list_repo(
    mirror: Mirror, repo_id: str, revision: str | None, token: str | None, deadline: Deadline | None = None,
) -> RepoListing:  # fmt: skip
    """The files of ``repo_id`` at ``revision`` on ``mirror``; hub errors become one-line ``SourceError``.

    The listing is fetched with the requests the official clients send, but read here: their
    clients read any body whole and follow redirects anywhere (issue 10), so a hostile mirror
    could send a 1 GiB gzip bomb or a listing from another host. Bounds: ``MAX_LISTING_BYTES``
    sent and decoded, ``MAX_REPO_FILES`` entries, the command's deadline, no redirect off the origin.
    """
    rev = revision or mirror.default_revision
    if mirror.protocol == "hf":
        return checked(_hf(mirror, repo_id, revision, rev, token, deadline))
    return checked(_ms(mirror, repo_id, rev, token, deadline))


#: Ids a mirror sends that become names in the cache (``snapshots/<commit>``, ``blobs/<sha256>``).
_HEX_IDS = {"commit id": 40, "sha256": 64, "git blob id": 40}


def checked(listing: RepoListing) -> RepoListing:
    """``listing``, once its commit and every file's sha256 and git blob id are lowercase hex of the right length.

    These values name folders and files in the cache; anything else from a mirror (``../../victim``,
    a branch name, a newline) is refused with one line naming the mirror, never cleaned up.
    """
    _hex(listing, "commit id", listing.commit, "")
    for f in listing.files:
        _hex(listing, "sha256", f.sha256, f" for {f.path}")
        _hex(listing, "git blob id", f.git_oid, f" for {f.path}")
    return listing


def _hex(listing: RepoListing, kind: str, value: str | None, where: str) -> None:
    digits = _HEX_IDS[kind]
    if value is None or (len(value) == digits and all(c in "0123456789abcdef" for c in value)):
        return
    shown = repr(value if len(value) <= 80 else value[:80] + "...")
    raise SourceError(listing.repo_id, f"{listing.mirror.name} sent {kind} {shown}{where}, not {digits} lowercase hex digits; refused")


def _hf(mirror: Mirror, repo_id: str, asked: str | None, rev: str, token: str | None, deadline: Deadline | None) -> RepoListing:
    """The listing from ``GET /api/models/{id}[/revision/{rev}]?blobs=True``, the request ``HfApi.model_info``
    sends with ``files_metadata=True`` (huggingface_hub ``hf_api.py``), read here with bounds (issue 10).
    """
    import json

    if os.environ.get("HF_HUB_OFFLINE", "").upper() in ("1", "ON", "YES", "TRUE"):
        raise SourceError(repo_id, "HF_HUB_OFFLINE is set; unset it to reach the hub")
    url = f"{mirror.endpoint}/api/models/{repo_id}"
    if asked is not None:
        url += f"/revision/{quote(asked, safe='')}"
    with _session(mirror, token, deadline) as session:
        body = _get(session, url + "?blobs=True", repo_id, mirror, rev)
        try:
            info = json.loads(body)
        except ValueError:
            raise SourceError(repo_id, f"{mirror.name} sent a malformed listing (not JSON)") from None
        if not isinstance(info, dict) or not isinstance(info.get("siblings", []), list) or not isinstance(info.get("sha"), (str, type(None))):
            raise SourceError(repo_id, f"{mirror.name} sent a malformed listing")
        siblings = info.get("siblings") or []
        _count_files(mirror, repo_id, len(siblings))
        files = [_sibling(mirror, repo_id, s) for s in siblings]
        if any(f.size is None for f in files):
            files = _hf_tree(mirror, repo_id, info.get("sha") or rev, session)
    return RepoListing(mirror, repo_id, rev, info.get("sha"), tuple(sorted(files, key=lambda f: f.path)))


def _session(mirror: Mirror, token: str | None, deadline: Deadline | None) -> HttpSession:
    """The listing's session: the token by the rule of ``token_for``, and no redirect off the mirror's origin."""
    from .mirrors import token_for

    cookie = "m_session_id" if mirror.protocol == "ms" else None
    return HttpSession(mirror.endpoint, token=token_for(mirror, token), cookie=cookie, deadline=deadline)


def _get(session: HttpSession, url: str, repo_id: str, mirror: Mirror, rev: str) -> bytes:
    """The body of one listing request, bounded; hub error answers become one-line errors.

    The error codes are those ``huggingface_hub.utils._http.hf_raise_for_status`` reads (``X-Error-Code``)
    and ModelScope's 401/403/404 answers; a redirect to another origin is refused by the session.
    """
    with session.stream("GET", url, repo_id, {"Accept": "application/json"}) as r:
        status = r.status_code
        code = r.headers.get("X-Error-Code", "")
        if status == 200:
            return read_body(session, r, repo_id, MAX_LISTING_BYTES)
    host = session.host
    if code == "GatedRepo":
        raise SourceError(repo_id, f"is gated on {mirror.name}: accept its terms on the hub, then pass --token")
    if code == "RevisionNotFound" or (mirror.protocol == "ms" and status == 404 and rev != mirror.default_revision):
        raise SourceError(repo_id, f"revision {rev!r} not found on {mirror.name}")
    if code == "RepoNotFound" or status in (401, 404):
        if mirror.protocol == "ms" and status == 401:
            raise SourceError(repo_id, f"needs access on {mirror.name}: pass --token")
        raise SourceError(repo_id, f"repository not found on {mirror.name} (private? pass --token)")
    if status == 403:
        raise SourceError(repo_id, f"access denied on {mirror.name} (pass --token?)")
    raise SourceError(repo_id, f"{host} answered HTTP {status}")


def _count_files(mirror: Mirror, repo_id: str, n: int) -> None:
    if n > MAX_REPO_FILES:
        raise SourceError(repo_id, f"{mirror.name} lists more than {MAX_REPO_FILES:,} files; stopped")


def _sibling(mirror: Mirror, repo_id: str, s: object) -> RemoteFile:
    """One ``siblings`` entry (``rfilename``, ``size``, ``blobId``, ``lfs``), as ``huggingface_hub.hf_api.RepoSibling`` reads it."""
    bad = SourceError(repo_id, f"{mirror.name} sent a malformed listing entry")
    if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str):
        raise bad
    size, oid, lfs = s.get("size"), s.get("blobId"), s.get("lfs")
    if not (size is None or is_count(size)) or not isinstance(oid, (str, type(None))) or not isinstance(lfs, (dict, type(None))):
        raise bad
    if lfs is not None:
        if not isinstance(lfs.get("sha256"), str) or not is_count(lfs.get("size")):
            raise bad
        return RemoteFile(s["rfilename"], lfs["size"] if size is None else size, lfs["sha256"], None)
    return RemoteFile(s["rfilename"], size, None, oid)


def _hf_tree(mirror: Mirror, repo_id: str, rev: str, session: HttpSession) -> list[RemoteFile]:
    """Every file of the repo from the paginated tree API, following ``Link: next`` within bounds.

    ``HfApi.list_repo_tree`` follows ``next`` links for as long as a server sends them; here a page
    asked for twice, more than ``MAX_TREE_PAGES`` pages or more than ``MAX_REPO_FILES`` files end
    the listing with one line, and a next page on another host is refused.
    """
    from urllib.parse import urljoin

    url = f"{mirror.endpoint}/api/models/{repo_id}/tree/{quote(rev, safe='')}?recursive=True&expand=False"
    seen: set[str] = set()
    files: list[RemoteFile] = []
    while True:
        if url in seen:
            raise SourceError(repo_id, f"{mirror.name} tree listing pagination repeats a page after {len(seen)} pages; stopped")
        if len(seen) >= MAX_TREE_PAGES:
            raise SourceError(repo_id, f"{mirror.name} tree listing has more than {MAX_TREE_PAGES:,} pages; stopped")
        seen.add(url)
        with session.stream("GET", url, repo_id) as r:
            if r.status_code != 200:
                raise status_error(repo_id, r.status_code, session.host)
            body = read_body(session, r, repo_id, MAX_TREE_PAGE_BYTES)
            nxt = r.links.get("next", {}).get("url")
        files += _tree_page(mirror, repo_id, body)
        if len(files) > MAX_REPO_FILES:
            raise SourceError(repo_id, f"{mirror.name} lists more than {MAX_REPO_FILES:,} files; stopped")
        if not nxt:
            return files
        url = urljoin(url, nxt)
        if not session.on_host(url):
            raise SourceError(repo_id, f"{mirror.name} sent the next tree listing page on {host_of(url)}, off the mirror; refused")


def _tree_page(mirror: Mirror, repo_id: str, body: bytes) -> list[RemoteFile]:
    """The files of one tree page (folders are skipped); anything not shaped like the hub's answer is refused."""
    import json

    bad = SourceError(repo_id, f"{mirror.name} sent a malformed tree listing page")
    try:
        items = json.loads(body)
    except ValueError:
        raise bad from None
    if not isinstance(items, list):
        raise bad
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise bad
        if item.get("type") != "file":
            continue
        size, oid, lfs = item.get("size"), item.get("oid"), item.get("lfs")
        if not is_count(size) or not isinstance(oid, (str, type(None))) or not isinstance(lfs, (dict, type(None))):
            raise bad
        if lfs is not None:
            if not isinstance(lfs.get("oid"), str) or not is_count(lfs.get("size", size)):
                raise bad
            out.append(RemoteFile(item["path"], size, lfs["oid"], None))
        else:
            out.append(RemoteFile(item["path"], size, None, oid))
    return out


def _ms(mirror: Mirror, repo_id: str, rev: str, token: str | None, deadline: Deadline | None) -> RepoListing:
    """The listing from ``GET /api/v1/models/{id}/repo/files?Revision=..&Recursive=True``, the request
    ``modelscope_hub``'s ``LegacyClient.list_repo_files`` sends, read here with bounds (issue 10).

    ModelScope answers ``{"Code": 200, "Success": true, "Data": {"Files": [...]}}`` and cuts a listing
    at ``REPO_FILES_TRUNCATION_LIMIT`` (3,000) entries; a listing of exactly that many is refused
    rather than pulled incomplete.
    """
    import json

    url = f"{mirror.endpoint}/api/v1/models/{repo_id}/repo/files?Revision={quote_plus(rev)}&Recursive=True"
    with _session(mirror, token, deadline) as session:
        body = _get(session, url, repo_id, mirror, rev)
    bad = SourceError(repo_id, f"{mirror.name} sent a malformed listing")
    try:
        doc = json.loads(body)
    except ValueError:
        raise bad from None
    if not isinstance(doc, dict):
        raise bad
    if doc.get("Success") is False or doc.get("Code") not in (200, None):
        message = doc.get("Message")
        shown = message.splitlines()[0][:200] if isinstance(message, str) and message.strip() else "no reason given"
        raise SourceError(repo_id, f"{mirror.name} refused the listing: {shown!r}")
    data = doc.get("Data", doc)
    entries = data.get("Files") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise bad
    _count_files(mirror, repo_id, len(entries))
    if len(entries) == MS_TRUNCATION:
        raise SourceError(repo_id, f"{mirror.name} listed exactly {MS_TRUNCATION:,} files, where ModelScope cuts a listing; refused as incomplete")
    files = []
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("Path"), str):
            raise bad
        if e.get("Type") == "tree":
            continue
        size, sha = e.get("Size"), e.get("Sha256")
        if not (size is None or is_count(size)) or not isinstance(sha, (str, type(None))):
            raise bad
        files.append(RemoteFile(e["Path"], size, sha or None))
    return RepoListing(mirror, repo_id, rev, None, tuple(sorted(files, key=lambda f: f.path)))
