"""Where a repo is fetched from: Hugging Face, hf-mirror, ModelScope, or any URL.

``--mirror`` names: ``hf`` (huggingface.co), ``hf-mirror`` (https://hf-mirror.com), ``modelscope``
(``ms``), a URL of a server speaking the Hugging Face protocol, or ``auto``. Without ``--mirror``
the environment decides: ``HF_ENDPOINT`` for Hugging Face targets, ``MODELSCOPE_ENDPOINT`` for
``ms://`` targets (the variables the official clients read).
"""

from __future__ import annotations

import os
import re

from ..errors import SourceError, UsageError
from ..targets import RepoRef, parse_ref
from ..sources.http import HttpSession
from .records import HF_URL, Mirror

HF_MIRROR_URL = "https://hf-mirror.com"
MODELSCOPE_URL = "https://www.modelscope.cn"


def _named(name: str) -> Mirror:
    if name == "hf":
        return Mirror("hf", "hf", HF_URL, ("huggingface.co", "hf.co"))
    if name == "hf-mirror":
        return Mirror("hf-mirror", "hf", HF_MIRROR_URL, ("hf-mirror.com",))
    if name in ("modelscope", "ms"):
        return Mirror("modelscope", "ms", MODELSCOPE_URL, ("modelscope.cn", "aliyuncs.com"))
    raise UsageError(name, "unknown mirror; use hf, hf-mirror, modelscope, auto or a URL")


def resolve(name: str | None, protocol: str = "hf") -> Mirror:
    """The mirror for ``--mirror name`` (``None``: the environment's endpoint for ``protocol``)."""
    if name is None:
        if protocol == "ms":
            env = os.environ.get("MODELSCOPE_ENDPOINT")
            return Mirror(env, "ms", env.rstrip("/")) if env else _named("modelscope")
        env = os.environ.get("HF_ENDPOINT")
        if env and env.rstrip("/") != HF_URL:
            return Mirror(env, "hf", env.rstrip("/"))
        return _named("hf")
    if re.match(r"^https?://", name):
        return Mirror(name, protocol, name.rstrip("/"))
    mirror = _named(name)
    if protocol == "ms" and mirror.protocol != "ms":
        raise UsageError(name, "an ms:// target needs a ModelScope endpoint (--mirror modelscope or a URL)")
    return mirror


def locate(target: str, mirror: str | None, *, remote_only: bool = False) -> tuple[RepoRef, Mirror]:
    """The repo reference and mirror for a target; ``--mirror modelscope`` makes ``org/name`` a ModelScope repo.

    ``remote_only`` (``mfi pull``): ``org/name`` is a repo even if a local path of that name exists.
    """
    ref = parse_ref(target if not remote_only or "://" in target else f"hf://{target}")
    if ref is None:
        raise UsageError(target, "not a repo reference; expected org/name, hf://org/name[@rev][/path] or ms://...")
    if mirror == "auto":
        m = probe(ref, candidates(ref, plain="://" not in target))
        if m.protocol != ref.protocol:
            ref = RepoRef(m.protocol, ref.repo_id, ref.revision, ref.path)
        return ref, m
    if "://" not in target and mirror in ("modelscope", "ms"):
        ref = RepoRef("ms", ref.repo_id, ref.revision, ref.path)
    return ref, resolve(mirror, ref.protocol)


def candidates(ref: RepoRef, plain: bool) -> list[Mirror]:
    """Mirrors ``auto`` tries: ``MFI_MIRRORS`` (comma-separated names or URLs) or the known ones.

    A URL in ``MFI_MIRRORS`` may be prefixed ``ms+`` to mark a ModelScope endpoint.
    """
    env = os.environ.get("MFI_MIRRORS")
    if env:
        out = []
        for item in (x.strip() for x in env.split(",") if x.strip()):
            proto = "ms" if item.startswith("ms+") or item in ("modelscope", "ms") else "hf"
            out.append(resolve(item.removeprefix("ms+"), proto))
        return out
    if ref.protocol == "ms":
        return [_named("modelscope")]
    return [_named("hf"), _named("hf-mirror")] + ([_named("modelscope")] if plain else [])


def probe(ref: RepoRef, mirrors: list[Mirror], timeout: float = 5.0) -> Mirror:
    """The mirror that answers first with the repo's listing (all asked at once)."""
    import queue
    import threading

    import httpx2

    answers: queue.Queue = queue.Queue()

    def ask(m: Mirror) -> None:
        path = f"/api/models/{ref.repo_id}" if m.protocol == "hf" else f"/api/v1/models/{ref.repo_id}/revisions"
        try:
            ok = httpx2.get(m.endpoint + path, timeout=timeout).status_code == 200
        except httpx2.HTTPError:
            ok = False
        answers.put((m, ok))

    for m in mirrors:
        threading.Thread(target=ask, args=(m,), daemon=True).start()
    for _ in mirrors:
        try:
            m, ok = answers.get(timeout=timeout + 1)
        except queue.Empty:
            break
        if ok:
            return m
    names = ", ".join(m.name for m in mirrors)
    raise SourceError(ref.repo_id, f"no mirror answered with this repo (tried {names})")


def token_for(mirror: Mirror, token: str | None) -> str | None:
    """The token sent to ``mirror``: ``--token`` if given, else the saved Hugging Face token for huggingface.co only.

    The saved token is ``huggingface_hub.get_token()`` (``HF_TOKEN``, then the token file), the one the
    listing client uses; a mirror never gets it.
    """
    if token:
        return token
    if mirror.official_hf:
        from huggingface_hub import get_token

        return get_token()
    return None


def session_for(mirror: Mirror, token: str | None, allow_redirects: bool = False) -> HttpSession:
    """An HTTP session bound to ``mirror``, carrying ``token_for(mirror, token)`` to that host only."""
    return HttpSession(mirror.endpoint, token=token_for(mirror, token), allowed=mirror.allowed, follow_any=allow_redirects)
