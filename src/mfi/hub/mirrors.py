"""Where a repo is fetched from: Hugging Face, hf-mirror, ModelScope, or any URL; and remote targets.

``--mirror`` names: ``hf`` (huggingface.co), ``hf-mirror`` (https://hf-mirror.com), ``modelscope``
(``ms``), a URL of a server speaking the Hugging Face protocol, or ``auto``. Without ``--mirror``
the environment decides: ``HF_ENDPOINT`` for Hugging Face targets, ``MODELSCOPE_ENDPOINT`` for
``ms://`` targets (the variables the official clients read).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import SourceError, UsageError

HF_URL = "https://huggingface.co"
HF_MIRROR_URL = "https://hf-mirror.com"
MODELSCOPE_URL = "https://www.modelscope.cn"
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


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A remote target: ``hf://org/name[@rev][/path]``, ``ms://...`` or plain ``org/name``."""

    protocol: str
    repo_id: str
    revision: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        path = f"/{self.path}" if self.path else ""
        return f"{self.protocol}://{self.repo_id}{rev}{path}"


_REPO = re.compile(r"^(?P<org>[A-Za-z0-9][\w.-]*)/(?P<name>[\w.-]+)(?:@(?P<rev>[^/]+))?(?:/(?P<path>.+))?$")


def parse_ref(target: str, *, plain: bool = True) -> RepoRef | None:
    """The remote reference ``target`` names, or ``None`` when it is not one.

    A plain ``org/name[@rev]`` counts only when ``plain`` and no such local path exists.
    """
    protocol = None
    rest = target
    for scheme, proto in (("hf://", "hf"), ("ms://", "ms"), ("modelscope://", "ms")):
        if target.startswith(scheme):
            protocol, rest = proto, target[len(scheme) :]
    if protocol is None:
        if not plain or os.path.exists(target) or target.startswith((".", "/", "~")):
            return None
        protocol = "hf"
    m = _REPO.match(rest)
    if m is None:
        if target.startswith(("hf://", "ms://", "modelscope://")):
            raise UsageError(target, "not a repo reference; expected hf://org/name[@revision][/path]")
        return None
    if not target.startswith(("hf://", "ms://", "modelscope://")) and (
        m["path"] or m["name"].endswith((".gguf", ".safetensors", ".json"))
    ):
        return None  # a plain name is only ``org/name[@rev]``: a mistyped local path stays local
    return RepoRef(protocol, f"{m['org']}/{m['name']}", m["rev"], m["path"].strip("/") if m["path"] else None)


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
