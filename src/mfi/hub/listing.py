"""What a repo holds, asked through the official clients: ``huggingface_hub`` and ``modelscope``.

Hugging Face: ``HfApi(endpoint=...).model_info(files_metadata=True)`` gives the commit and every
file's size and LFS sha256 in one request. When a server leaves sizes out, the paginated tree API
is read here (``_hf_tree``), bounded: ``list_repo_tree`` follows ``Link: next`` without end.
ModelScope: ``modelscope_hub.HubApi(endpoint=...).list_repo_files`` with an explicit revision
(``master`` by default): without one, ``model_file_download`` looks the revision up on
modelscope.cn even when another endpoint is given (issue 4).
"""

from __future__ import annotations

from urllib.parse import quote

from ..errors import SourceError
from .records import Mirror, RemoteFile, RepoListing
from ..sources.http import host_of


#: Most pages of a tree listing followed (the hub sends up to 1,000 files a page).
MAX_TREE_PAGES = 2_000
#: Most files one repo listing may hold (the largest model repos list tens of thousands).
MAX_REPO_FILES = 1_000_000
#: Largest tree listing page read (a 1,000-file page is a few hundred KB).
MAX_TREE_PAGE_BYTES = 16 << 20


def list_repo(mirror: Mirror, repo_id: str, revision: str | None, token: str | None) -> RepoListing:
    """The files of ``repo_id`` at ``revision`` on ``mirror``; hub errors become one-line ``SourceError``."""
    rev = revision or mirror.default_revision
    if mirror.protocol == "hf":
        return checked(_hf(mirror, repo_id, revision, rev, token))
    return checked(_ms(mirror, repo_id, rev, token))


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


def _hf(mirror: Mirror, repo_id: str, asked: str | None, rev: str, token: str | None) -> RepoListing:
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub import errors as hf_errors

    # A token saved for huggingface.co is not handed to a mirror: only an explicit --token goes there.
    api = HfApi(endpoint=mirror.endpoint, token=token if token or mirror.official_hf else False)
    try:
        info = api.model_info(repo_id, revision=asked, files_metadata=True)
        files = [_hf_file(s.rfilename, s.size, s.lfs, s.blob_id) for s in info.siblings or []]
        if any(f.size is None for f in files):
            files = _hf_tree(mirror, repo_id, info.sha or rev, token)
    except hf_errors.GatedRepoError:
        raise SourceError(repo_id, f"is gated on {mirror.name}: accept its terms on the hub, then pass --token") from None
    except hf_errors.RevisionNotFoundError:
        raise SourceError(repo_id, f"revision {rev!r} not found on {mirror.name}") from None
    except hf_errors.RepositoryNotFoundError:
        raise SourceError(repo_id, f"repository not found on {mirror.name} (private? pass --token)") from None
    except hf_errors.HfHubHTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        raise SourceError(repo_id, f"{host_of(mirror.endpoint)} answered HTTP {status}") from None
    except hf_errors.OfflineModeIsEnabled:
        raise SourceError(repo_id, "HF_HUB_OFFLINE is set; unset it to reach the hub") from None
    except httpx2.HTTPError as e:
        raise SourceError(repo_id, f"cannot reach {host_of(mirror.endpoint)}: {e or type(e).__name__} (no network?)") from None
    return RepoListing(mirror, repo_id, rev, info.sha, tuple(sorted(files, key=lambda f: f.path)))


def _hf_tree(mirror: Mirror, repo_id: str, rev: str, token: str | None) -> list[RemoteFile]:
    """Every file of the repo from the paginated tree API, following ``Link: next`` within bounds.

    ``HfApi.list_repo_tree`` follows ``next`` links for as long as a server sends them; here a page
    asked for twice, more than ``MAX_TREE_PAGES`` pages or more than ``MAX_REPO_FILES`` files end
    the listing with one line, and a next page on another host is refused.
    """
    from urllib.parse import urljoin

    from ..sources.http import HttpSession, status_error
    from .mirrors import token_for

    url = f"{mirror.endpoint}/api/models/{repo_id}/tree/{quote(rev, safe='')}?recursive=True&expand=False"
    seen: set[str] = set()
    files: list[RemoteFile] = []
    with HttpSession(mirror.endpoint, token=token_for(mirror, token), allowed=mirror.allowed) as session:
        while True:
            if url in seen:
                raise SourceError(repo_id, f"{mirror.name} tree listing pagination repeats a page after {len(seen)} pages; stopped")
            if len(seen) >= MAX_TREE_PAGES:
                raise SourceError(repo_id, f"{mirror.name} tree listing has more than {MAX_TREE_PAGES:,} pages; stopped")
            seen.add(url)
            with session.stream("GET", url, repo_id) as r:
                if r.status_code != 200:
                    raise status_error(repo_id, r.status_code, session.host)
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > MAX_TREE_PAGE_BYTES:
                        raise SourceError(repo_id, f"{mirror.name} sent a tree listing page over {MAX_TREE_PAGE_BYTES:,} bytes; stopped")
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
        if not _count(size) or not isinstance(oid, (str, type(None))) or not isinstance(lfs, (dict, type(None))):
            raise bad
        if lfs is not None:
            if not isinstance(lfs.get("oid"), str) or not _count(lfs.get("size", size)):
                raise bad
            out.append(RemoteFile(item["path"], size, lfs["oid"], None))
        else:
            out.append(RemoteFile(item["path"], size, None, oid))
    return out


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _hf_file(path: str, size: int | None, lfs, blob_id: str | None) -> RemoteFile:
    if lfs is not None:
        return RemoteFile(path, lfs.size if size is None else size, lfs.sha256, None)
    return RemoteFile(path, size, None, blob_id)


def _ms(mirror: Mirror, repo_id: str, rev: str, token: str | None) -> RepoListing:
    import requests
    from modelscope_hub import HubApi, errors as ms_errors

    # "" means "no token" to modelscope_hub; a token saved for modelscope.cn is not sent elsewhere.
    official = "modelscope.cn" in host_of(mirror.endpoint)
    api = HubApi(endpoint=mirror.endpoint, token=token if token else (None if official else ""))
    try:
        raw = api.list_repo_files(repo_id, "model", revision=rev, recursive=True)
    except (ms_errors.AuthenticationError, ms_errors.PermissionDeniedError):
        raise SourceError(repo_id, f"needs access on {mirror.name}: pass --token") from None
    except ms_errors.NotExistError:
        raise SourceError(repo_id, f"repository or revision {rev!r} not found on {mirror.name}") from None
    except (ms_errors.NetworkError, ms_errors.RequestTimeoutError, requests.ConnectionError) as e:
        raise SourceError(repo_id, f"cannot reach {host_of(mirror.endpoint)}: {e} (no network?)") from None
    except ms_errors.APIError as e:
        raise SourceError(repo_id, f"{host_of(mirror.endpoint)} refused the listing: {str(e).splitlines()[0]}") from None
    files = [RemoteFile(f.path, f.size, f.sha256) for f in raw if not f.is_dir]
    return RepoListing(mirror, repo_id, rev, None, tuple(sorted(files, key=lambda f: f.path)))
