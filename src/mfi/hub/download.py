"""Downloads that resume across runs, stay on the chosen mirror, and are checked against the hub.

What this adds to the official clients (issue 4, checked against huggingface_hub 2.x): its
``hf_hub_download`` writes to a per-process temporary file that is deleted when a run fails (no
resume across runs), never checks sha256, and follows a GET redirect to any host. Here bytes go to a
``.part`` file that is never under the final name and is continued with ``Range: bytes=N-`` on the
next attempt or run; size and sha256 (LFS / ModelScope ``Sha256``; git blob id for small git files)
are checked before the file takes its final name; a redirect off the mirror is not followed.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import ChecksumError, Interrupted, SourceError, TransferError
from ..targets import safe_join
from ..sources.http import HttpSession, content_range, status_error
from . import destination
from .records import PlanEntry, Progress, PullPlan, PullResult
from .selection import file_digest


class _Silent:
    def start(self, path: str, total: int | None, done: int) -> None:
        pass

    def advance(self, path: str, n: int) -> None:
        pass

    def finish(self, path: str) -> None:
        pass

    def note(self, message: str) -> None:
        pass


def pull(plan: PullPlan, session: HttpSession, *, max_workers: int = 4, retries: int = 3,
         progress: Progress | None = None) -> PullResult:  # fmt: skip
    """Fetch every file of ``plan`` that is not present; raise the first failure after all tried."""
    progress = progress or _Silent()
    todo = [e for e in plan.entries if not e.present]
    _check_space(plan)
    for e in plan.entries:  # present: the plan matched it with the listing; note that for next time
        if e.present and e.record is not None:
            _write_record(plan, e)
    errors: list[SourceError] = []
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers))
    futures = [pool.submit(fetch, plan, e, session, retries, progress) for e in todo]
    try:
        for fut in futures:
            try:
                fut.result()
            except SourceError as e:
                errors.append(e)
    except KeyboardInterrupt:
        # Ctrl-C: shut every transfer's socket so the files in flight stop now; their partials stay
        session.abort("interrupted")
        pool.shutdown(wait=True, cancel_futures=True)
        kept = sum(1 for e in todo if _partial_size(e) > 0)
        raise Interrupted(plan.listing.repo_id, f"interrupted; {kept} partial download(s) kept: run the same command again to resume") from None
    pool.shutdown(wait=True)
    if errors:
        first = errors[0]
        if len(errors) > 1:
            raise type(first)(first.source, f"{first.problem} (and {len(errors) - 1} more file(s) failed)")
        raise first
    return PullResult(
        tuple(e.file.path for e in todo), tuple(e.file.path for e in plan.entries if e.present),
        session.bytes, session.requests, plan.snapshot,
    )  # fmt: skip


def _check_space(plan: PullPlan) -> None:
    need = plan.to_fetch
    folder = plan.root
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if need > free:
        raise SourceError(str(plan.root), f"disk full: the pull needs {need:,} more bytes, {free:,} are free")


def fetch(plan: PullPlan, entry: PlanEntry, session: HttpSession, retries: int, progress: Progress) -> None:
    """Download one file to its ``.part``, resuming; verify it; give it its final name.

    Folders are made one component at a time and must not be links (``destination``); a file
    system error (a name too long, a file where a folder is needed) is one line naming the path.
    """
    try:
        _fetch(plan, entry, session, retries, progress)
    except SourceError:  # ours (itself an OSError): already one line
        raise
    except OSError as e:
        raise SourceError(str(e.filename or entry.file.path), e.strerror or str(e)) from None


def _fetch(plan: PullPlan, entry: PlanEntry, session: HttpSession, retries: int, progress: Progress) -> None:
    f = entry.file
    url = plan.listing.url(f.path)
    destination.ensure_folder(plan.root, entry.partial.parent)
    _drop_stale_partials(entry)
    have = destination.size_of(entry.partial)
    if f.size is not None and have > f.size:
        entry.partial.unlink()
        have = 0
    progress.start(f.path, f.size, have)
    failures = 0
    while f.size is None or have < f.size:
        try:
            have = _stream(session, url, entry, have, progress)
        except TransferError as e:
            failures += 1
            have = destination.size_of(entry.partial)
            if failures > retries:
                raise TransferError(e.source, f"{e.problem}; {have:,} bytes kept in {entry.partial.name}, run again to resume") from None
            progress.note(f"{f.path}: {e.problem}; resuming at byte {have:,}")
            continue
        if f.size is None:
            break
    _verify_file(entry.partial, entry, name=f.path, delete=True)
    _place(plan, entry)
    progress.finish(f.path)


def _partial_size(entry: PlanEntry) -> int:
    try:
        return destination.size_of(entry.partial)
    except SourceError:
        return 0


def _drop_stale_partials(entry: PlanEntry) -> None:
    """Partial downloads of other versions of this file (another hash in the name) are removed."""
    stem = glob.escape(entry.partial.name.rsplit(".", 2)[0])  # a file named "*.gguf" matches only itself
    for p in entry.partial.parent.glob(f"{stem}.*.part"):
        if p != entry.partial and p.name.count(".") == entry.partial.name.count("."):
            p.unlink(missing_ok=True)


def _stream(session: HttpSession, url: str, entry: PlanEntry, have: int, progress: Progress) -> int:
    """One GET from byte ``have`` to the end, appended to the partial file; returns its new size."""
    name = entry.file.path
    extra = {"Range": f"bytes={have}-"} if have else None
    with session.stream("GET", url, name, extra) as r:
        if r.status_code not in (200, 206):
            raise status_error(name, r.status_code, session.host)
        if have and r.status_code == 200:
            progress.note(f"{name}: {session.host} ignored the Range request; starting the file again")
            progress.advance(name, -have)
            have = 0
        elif r.status_code == 206:
            start, _ = content_range(name, r.headers.get("Content-Range", ""))
            if start != have:
                raise SourceError(name, f"asked to resume at byte {have}, the server sent from byte {start}")
        size = entry.file.size
        overlong = False
        try:
            with os.fdopen(destination.open_file(entry.partial, "a" if have else "w"), "r+b") as out:
                out.seek(have)
                out.truncate()
                for chunk in r.iter_raw():  # as received: a broken connection keeps what came
                    session.check(name)  # Ctrl-C or the deadline: stop within this chunk
                    session.count(nbytes=len(chunk))
                    if size is not None and have + len(chunk) > size:
                        overlong = True
                        break
                    out.write(chunk)
                    have += len(chunk)
                    progress.advance(name, len(chunk))
        except SourceError:
            raise
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise SourceError(str(entry.partial), "disk full while writing; free space and run again to resume") from None
            raise SourceError(str(entry.partial), e.strerror or str(e)) from None
    if overlong:  # closing the response (above) stopped the transfer
        entry.partial.unlink(missing_ok=True)
        raise ChecksumError(name, f"{session.host} sent more than the {size:,} bytes the hub publishes; stopped, partial download deleted")
    if size is not None and have < size:
        raise TransferError(name, f"{session.host} ended the response after {have:,} of {size:,} bytes")
    return have


def _verify_file(path: Path, entry: PlanEntry, *, name: str, delete: bool) -> None:
    f = entry.file
    size = path.stat().st_size
    if f.size is not None and size != f.size:
        if delete:
            path.unlink()
        raise ChecksumError(name, f"size {size:,} differs from the {f.size:,} bytes the hub publishes")
    got = file_digest(path, entry.file)
    if got is not None and got[1] != f.etag:
        if delete:
            path.unlink()
        kind, value = got
        raise ChecksumError(name, f"{kind} mismatch: the hub publishes {f.etag}, the download has {value}" + (" (deleted; run again)" if delete else ""))


def _place(plan: PullPlan, entry: PlanEntry) -> None:
    """Move a verified partial to its final name (cache: blob + snapshot link + ref)."""
    _inside(plan.root, entry.dest, entry.partial, *([entry.blob] if entry.blob is not None else []))
    destination.ensure_folder(plan.root, entry.dest.parent)
    if entry.blob is None:
        os.replace(entry.partial, entry.dest)  # a link at the final name is replaced, not followed
        _write_record(plan, entry)
        return
    destination.ensure_folder(plan.root, entry.blob.parent)
    os.replace(entry.partial, entry.blob)
    if entry.dest.is_symlink() or entry.dest.exists():
        entry.dest.unlink()
    try:
        os.symlink(os.path.relpath(entry.blob, entry.dest.parent), entry.dest)
    except OSError:  # no symlinks (Windows without developer mode): a copy, as huggingface_hub does
        shutil.copyfile(entry.blob, entry.dest)
    listing = plan.listing
    if listing.commit and listing.revision != listing.commit:
        refs = safe_join(plan.root / "refs", listing.revision)
        destination.write_file(plan.root, refs, listing.commit.encode())


def _write_record(plan: PullPlan, entry: PlanEntry) -> None:
    """Note what the local file holds (the listing's size and hashes), so the next plan need not hash it."""
    if entry.record is None:
        return
    f = entry.file
    record = {"path": f.path, "size": f.size, "sha256": f.sha256, "git_oid": f.git_oid,
              "revision": plan.listing.revision, "commit": plan.listing.commit,
              "mtime_ns": entry.dest.stat().st_mtime_ns}  # fmt: skip
    destination.write_file(plan.root, entry.record, json.dumps(record).encode())


def _inside(root: Path, *paths: Path) -> None:
    """Refuse to replace or unlink a path outside ``root`` (by its text: cache symlinks are not followed)."""
    top = os.path.abspath(root)
    for p in paths:
        if os.path.commonpath([top, os.path.abspath(p)]) != top:
            raise SourceError(str(p), f"is outside {root}; refused to replace it")


def verify(plan: PullPlan) -> list[tuple[str, str]]:
    """Re-check every planned file on disk: (path, problem) for each missing or differing one."""
    problems = []
    for e in plan.entries:
        if not e.dest.is_file():
            problems.append((e.file.path, "missing"))
            continue
        try:
            _verify_file(e.dest, e, name=e.file.path, delete=False)
        except ChecksumError as err:
            problems.append((e.file.path, err.problem))
    return problems
