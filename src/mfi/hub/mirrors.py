"""Where a repo is fetched from: Hugging Face, hf-mirror, ModelScope, or any URL.

``--mirror`` names: ``hf`` (huggingface.co), ``hf-mirror`` (https://hf-mirror.com), ``modelscope``
(``ms``), a URL of a server speaking the Hugging Face protocol, or ``auto``. Without ``--mirror``
the environment decides: ``HF_ENDPOINT`` for Hugging Face targets, ``MODELSCOPE_ENDPOINT`` for
``ms://`` targets (the variables the official clients read).
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from ..errors import SourceError, UsageError
from ..targets import RepoRef, parse_ref
from ..sources.http import Deadline, HttpSession
from .records import HF_HOSTS, HF_URL, MS_HOSTS, Mirror, official

HF_MIRROR_URL = "https://hf-mirror.com"
MODELSCOPE_URL = "https://www.modelscope.cn"


def endpoint_url(url: str, where: str) -> str:
    """``url`` without a trailing ``/``, once it is an ``http(s)://host[:port][/path]`` URL without user info.

    User info (``https://modelscope.cn@127.0.0.1``) makes a URL read as one host and reach another: refused.
    """
    try:
        u = urlsplit(url.strip())
        u.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise UsageError(where, f"{url!r} is not a valid URL") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise UsageError(where, f"{url!r} is not an http(s):// URL")
    if "@" in u.netloc:
        raise UsageError(where, f"{url!r} holds user info before '@', which hides the host it reaches; refused")
    return url.strip().rstrip("/")


def _named(name: str) -> Mirror:
    if name == "hf":
        return Mirror("hf", "hf", HF_URL, ("huggingface.co", "hf.co"))
    if name == "hf-mirror":
        return Mirror("hf-mirror", "hf", HF_MIRROR_URL, ("hf-mirror.com",))
    if name in ("modelscope", "ms"):
        # the endpoint the modelscope client uses (modelscope_hub.config.HubConfig): MODELSCOPE_ENDPOINT first
        env = os.environ.get("MODELSCOPE_ENDPOINT", "").strip()
        url = endpoint_url(env if "://" in env else f"https://{env}", "MODELSCOPE_ENDPOINT") if env else MODELSCOPE_URL
        allowed = ("modelscope.cn", "aliyuncs.com") if official(url, MS_HOSTS) else ()
        return Mirror("modelscope", "ms", url, allowed)
    raise UsageError(name, "unknown mirror; use hf, hf-mirror, modelscope, auto or a URL")


def resolve(name: str | None, protocol: str = "hf") -> Mirror:
    """The mirror for ``--mirror name`` (``None``: the environment's endpoint for ``protocol``)."""
    if name is None:
        if protocol == "ms":
            return _named("modelscope")
        env = os.environ.get("HF_ENDPOINT")
        if env and not official(env, HF_HOSTS):
            return Mirror(env, "hf", endpoint_url(env, "HF_ENDPOINT"))
        return _named("hf")
    if re.match(r"^https?://", name):
        return Mirror(name, protocol, endpoint_url(name, "--mirror"))
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
    """The mirror that answers first with the repo's listing (all asked at once, no token sent).

    When none has it, the error tells "no network" (no mirror could be reached) from "no such
    repo" (a mirror answered, without the repo), naming each mirror's answer.
    """
    import queue
    import threading

    import httpx2

    answers: queue.Queue[tuple[Mirror, str | None]] = queue.Queue()

    def ask(m: Mirror) -> None:
        path = f"/api/models/{ref.repo_id}" if m.protocol == "hf" else f"/api/v1/models/{ref.repo_id}/revisions"
        try:
            # only the status is wanted: the body is never read, so a hostile answer costs nothing
            with httpx2.stream("GET", m.endpoint + path, timeout=httpx2.Timeout(timeout), follow_redirects=False) as r:
                status = r.status_code
            answers.put((m, None if status == 200 else f"HTTP {status}"))
        except httpx2.HTTPError as e:
            answers.put((m, f"cannot reach {urlsplit(m.endpoint).netloc}: {str(e) or type(e).__name__}"))

    for m in mirrors:
        threading.Thread(target=ask, args=(m,), daemon=True).start()
    failed: list[tuple[Mirror, str]] = []
    for _ in mirrors:
        try:
            m, problem = answers.get(timeout=timeout + 1)
        except queue.Empty:
            break
        if problem is None:
            return m
        failed.append((m, problem))
    told = {m.name for m, _ in failed}
    failed += [(m, f"no answer within {timeout:g} s") for m in mirrors if m.name not in told]
    detail = "; ".join(f"{m.name}: {p}" for m, p in failed)
    if all(p.startswith(("cannot reach", "no answer")) for _, p in failed):
        raise SourceError(ref.repo_id, f"no mirror could be reached (no network?): {detail}")
    raise SourceError(ref.repo_id, f"no mirror has this repo ({detail})")


def token_for(mirror: Mirror, token: str | None) -> str | None:
    """The token sent to ``mirror``: ``--token`` if given, else a saved token for the exact official host only.

    Saved tokens: ``huggingface_hub.get_token()`` (``HF_TOKEN``, then the token file) for
    https://huggingface.co, and the modelscope client's (``MODELSCOPE_API_TOKEN``, then its saved
    login) for https://www.modelscope.cn; the hosts are compared exactly after parsing the URL
    (``mirrors.official``), so a look-alike host or a mirror never gets them.
    """
    if token:
        return token
    if mirror.official_hf:
        from huggingface_hub import get_token

        return get_token()
    if mirror.official_ms:
        from modelscope_hub.config import HubConfig

        return HubConfig(endpoint=mirror.endpoint).token or None
    return None


def session_for(
    mirror: Mirror, token: str | None, allow_redirects: bool = False, deadline: Deadline | None = None,
) -> HttpSession:  # fmt: skip
    """An HTTP session bound to ``mirror``, carrying ``token_for(mirror, token)`` to that host only."""
    cookie = "m_session_id" if mirror.protocol == "ms" else None
    return HttpSession(mirror.endpoint, token=token_for(mirror, token), allowed=mirror.allowed,
                       follow_any=allow_redirects, deadline=deadline, cookie=cookie)  # fmt: skip
