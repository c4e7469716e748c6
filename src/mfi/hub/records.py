"""Records of the hub layer: mirrors, repo listings, pull plans, download results and the pull report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, quote_plus, urlsplit

from ..records import Fetched, ModelSummary

HF_URL = "https://huggingface.co"
#: The only hosts a saved token is sent to, compared exactly after parsing the URL (issue 10:
#: ``https://modelscope.cn.evil.example`` and ``http://modelscope.cn@127.0.0.1`` are not ModelScope).
HF_HOSTS = frozenset({"huggingface.co"})
MS_HOSTS = frozenset({"www.modelscope.cn", "modelscope.cn"})


def official(endpoint: str, hosts: frozenset[str]) -> bool:
    """Whether ``endpoint`` is exactly ``https://HOST`` for one of ``hosts``: default port, no user info, no path."""
    try:
        u = urlsplit(endpoint)
        port = u.port
    except ValueError:  # a port that is not a number
        return False
    return (
        u.scheme == "https" and "@" not in u.netloc and port in (None, 443) and u.hostname in hosts
        and u.path.rstrip("/") == "" and not u.query and not u.fragment
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Mirror:
    """A hub endpoint and the protocol it speaks (``hf`` or ``ms``)."""

    name: str
    protocol: str
    endpoint: str
    #: Host families a redirect may go to without leaving this hub (its own CDN hosts).
    allowed: tuple[str, ...] = ()

    @property
    def official_hf(self) -> bool:
        """Whether this is huggingface.co itself (the only host a saved HF token is sent to)."""
        return self.protocol == "hf" and official(self.endpoint, HF_HOSTS)

    @property
    def official_ms(self) -> bool:
        """Whether this is modelscope.cn itself (the only host a saved ModelScope token is sent to)."""
        return self.protocol == "ms" and official(self.endpoint, MS_HOSTS)

    @property
    def default_revision(self) -> str:
        """``main`` on Hugging Face, ``master`` on ModelScope."""
        return "main" if self.protocol == "hf" else "master"


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file of a remote repo, with what the hub publishes to check it."""

    path: str
    size: int | None
    #: LFS sha256 (Hugging Face) or ``Sha256`` (ModelScope); ``None`` when not published.
    sha256: str | None = None
    #: Git blob id (sha1 of ``blob {size}\\0`` + content) for plain git files on Hugging Face.
    git_oid: str | None = None

    @property
    def etag(self) -> str | None:
        """The content id used to name blobs and partial files."""
        return self.sha256 or self.git_oid


@dataclass(frozen=True, slots=True)
class RepoListing:
    """A repo at one revision: its files and the commit they belong to."""

    mirror: Mirror
    repo_id: str
    revision: str
    #: 40-hex commit (Hugging Face); ModelScope listings give none.
    commit: str | None
    files: tuple[RemoteFile, ...]

    def get(self, path: str) -> RemoteFile | None:
        """The file at ``path``, if the repo has it."""
        for f in self.files:
            if f.path == path:
                return f
        return None

    def url(self, path: str) -> str:
        """Download URL of ``path`` at this listing's commit (or revision)."""
        e = self.mirror.endpoint
        if self.mirror.protocol == "hf":
            rev = quote(self.commit or self.revision, safe="")
            return f"{e}/{self.repo_id}/resolve/{rev}/{quote(path)}"
        return f"{e}/api/v1/models/{self.repo_id}/repo?Revision={quote_plus(self.revision)}&FilePath={quote_plus(path)}"


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One file of a pull: where it lands, where its partial download lives, whether it is there."""

    file: RemoteFile
    dest: Path
    partial: Path
    #: Where the verification record goes (local dirs); ``None`` in the cache (blobs are named by hash).
    record: Path | None
    #: Hugging Face cache layout: the blob ``dest`` links to (``blobs/<sha256 or git oid>``).
    blob: Path | None
    #: Bytes already on disk: the whole file when present, else the partial download's size.
    have: int
    present: bool


@dataclass(frozen=True, slots=True)
class PullPlan:
    """A pull: the listing it came from, its files, and where they go."""

    listing: RepoListing
    entries: tuple[PlanEntry, ...]
    root: Path
    #: ``local`` (real files under --local-dir) or ``cache`` (the hub's standard cache layout).
    layout: str
    #: The snapshot folder the files appear in (cache layout: ``snapshots/<commit>``).
    snapshot: Path

    @property
    def total(self) -> int:
        """Bytes of all files in the plan."""
        return sum(e.file.size or 0 for e in self.entries)

    @property
    def to_fetch(self) -> int:
        """Bytes still to download."""
        return sum((e.file.size or 0) - e.have for e in self.entries if not e.present)


class Progress(Protocol):
    """What a download reports as it goes (the CLI renders it; the library knows no terminal)."""

    def start(self, path: str, total: int | None, done: int) -> None: ...
    def advance(self, path: str, n: int) -> None: ...
    def finish(self, path: str) -> None: ...
    def note(self, message: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PullResult:
    """What a pull did: files fetched and skipped, bytes received, and notes (resumes, guards)."""

    fetched: tuple[str, ...]
    skipped: tuple[str, ...]
    bytes: int
    requests: int
    folder: Path


@dataclass(frozen=True, slots=True)
class PullReport:
    """The outcome of ``mfi pull``: the plan and, by mode, the download, the summaries or the checks."""

    plan: PullPlan
    mode: str  # "pull" | "dry-run" | "verify"
    result: PullResult | None = None
    #: ``--dry-run``: (weight file, remote inspect summary or the error that stopped it).
    summaries: tuple[tuple[str, ModelSummary | str], ...] = ()
    #: ``--dry-run``: what reading the headers cost.
    fetched: Fetched | None = None
    #: ``--verify``: (file, problem) for each missing or differing file.
    problems: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    #: (file, why) for each file of the listing never written: inside ``.git/`` or ``.cache/mfi/``.
    refused: tuple[tuple[str, str], ...] = ()
