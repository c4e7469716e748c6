"""One error tree: every error mfi raises on purpose, all built by the one constructor of ``MfiError``.

``str(e)`` reads ``model.gguf: string length 4611686018427387904 exceeds the 16 MiB cap at byte 24``:
the source (a file, URL, repo or parameter name), the problem and, where known, the byte offset.
Only ``cli.main()`` catches these, and only these. Library functions name their parameters
(``ctx``, ``memory``), never command-line flags.
"""

from __future__ import annotations


class MfiError(Exception):
    """Base of every error mfi raises on purpose."""

    def __init__(self, source: str, problem: str, offset: int | None = None) -> None:
        self.source = source
        self.problem = problem
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{source}: {problem}{where}")

    def __reduce__(self) -> tuple[type[MfiError], tuple[str, str, int | None]]:
        # Picklable for multiprocessing-based tests; the same constructor for every class.
        return (type(self), (self.source, self.problem, self.offset))


class FormatError(MfiError, ValueError):
    """The bytes are not a valid file of the format they claim to be."""


class TruncatedError(FormatError):
    """The file ends before a structure it declares."""


class LimitError(FormatError):
    """A length or count read from the file exceeds one of the caps in ``mfi.limits``."""


class SourceError(MfiError, OSError):
    """The bytes could not be read: missing file, permission, network."""


class TransferError(SourceError):
    """The connection failed or broke off; trying again may work (a download resumes)."""


class OffHostRedirect(SourceError):
    """The chosen host sent a request to another host; not followed (the mirror guard)."""


class ChecksumError(SourceError):
    """A downloaded file's size or hash differs from what the hub publishes."""


class UsageError(MfiError, ValueError):
    """The caller asked for something that cannot be done (bad target, bad option value)."""


class DeadlineError(SourceError):
    """A command's network work went past its ``--timeout``."""


class Interrupted(MfiError):
    """The user pressed Ctrl-C; what was downloaded so far is kept (exit status 130)."""
