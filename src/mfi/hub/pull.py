"""``mfi pull``: list the repo, plan the files, then download, verify or only show the plan."""

from __future__ import annotations

import os
import posixpath
from typing import TYPE_CHECKING

from .. import targets
from ..errors import MfiError, UsageError
from ..targets import unsafe_reason
from ..records import Fetched, ModelSummary
from ..sources.http import DEFAULT_DEADLINE, Deadline
from . import destination, download, mirrors, remote
from .listing import list_repo
from .records import PullPlan, PullReport
from .selection import plan, select

if TYPE_CHECKING:
    from ..sources.http import HttpSession


def run(
    repo: str, patterns: list[str] | None = None, *, mirror: str | None = None, revision: str | None = None,
    local_dir: str | os.PathLike | None = None, token: str | None = None, exclude: list[str] | None = None,
    quant: str | None = None, max_workers: int = 4, dry_run: bool = False, verify: bool = False,
    allow_redirects: bool = False, retries: int = 3, progress: download.Progress | None = None,
    timeout: float | None = None,
) -> PullReport:  # fmt: skip
    """Plan a pull of ``repo`` and carry it out (or only show it, or re-check it).

    ``timeout`` bounds the whole command; without it the listing and a dry run's header reads get
    ``DEFAULT_DEADLINE`` and downloads only the idle timeout of each read (a large pull takes hours).
    """
    ref, m = mirrors.locate(repo, mirror, remote_only=True)
    pats = list(patterns or [])
    if ref.path:
        pats.append(ref.path)
    rev = revision or ref.revision
    if rev is not None and (reason := unsafe_reason(rev)) is not None:
        # the revision names refs/<revision> in the cache: checked before anything is asked or written
        raise UsageError(rev, f"revision {reason}; refused")
    deadline = Deadline(timeout or DEFAULT_DEADLINE)
    listing = list_repo(m, ref.repo_id, rev, token, deadline)
    chosen = select(listing, pats, list(exclude or []), quant)
    refused = tuple((f.path, why) for f in chosen if (why := destination.refused_reason(f.path)) is not None)
    files = [f for f in chosen if destination.refused_reason(f.path) is None]
    destination.check_names(listing.repo_id, [f.path for f in files])
    p = plan(listing, files, local_dir)
    if verify:
        return PullReport(p, "verify", problems=tuple(download.verify(p)), refused=refused)
    if dry_run:
        with mirrors.session_for(m, token, allow_redirects, deadline) as session:
            summaries = tuple(_summaries(p, session))
            cost = Fetched(session.requests + 1, session.bytes, m.endpoint, listing.revision, listing.commit)
        return PullReport(p, "dry-run", summaries=summaries, fetched=cost, refused=refused)
    with mirrors.session_for(m, token, allow_redirects, deadline if timeout else None) as session:
        result = download.pull(p, session, max_workers=max_workers, retries=retries, progress=progress)
    return PullReport(p, "pull", result=result, refused=refused)


def _summaries(p: PullPlan, session: HttpSession) -> list[tuple[str, ModelSummary | str]]:
    """Remote inspect of each model among the planned weights (one per GGUF model, one per safetensors folder)."""
    paths = [e.file.path for e in p.entries]
    picks: list[str] = []
    for path in paths:
        base = posixpath.basename(path)
        m = targets.SPLIT_GGUF.match(base)
        if path.endswith(".gguf") and not base.startswith("mmproj") and (not m or m["no"] == "00001"):
            picks.append(path)
    folders = sorted({posixpath.dirname(x) for x in paths if x.endswith(".safetensors") or x.endswith(targets.INDEX_NAME)})
    picks += [f or "" for f in folders]
    out: list[tuple[str, ModelSummary | str]] = []
    for path in picks:
        shown = path or p.listing.repo_id
        try:
            out.append((shown, remote.summarize(p.listing, path or None, session, target=shown)))
        except MfiError as e:  # the plan is still worth showing when one header is unreadable
            out.append((shown, str(e)))
    return out
