"""Pulling input files into the landing area: copy what changed, by content checksum.

The landing area holds the exact bytes the pipeline read, so a run can always be traced
back to its inputs. `pull_source` takes one or more locations (a local folder, a glob
pattern, or an http(s) URL of a single file) and pulls them all or nothing:

* every file is first staged in a temporary file inside the landing folder (downloads are
  retried with exponential backoff on connection errors, timeouts, HTTP 5xx/429 and bodies
  shorter than their Content-Length);
* if any location fails, the staged files are removed and landing is left exactly as it
  was, so the last good data stays in place, and `PullError` names the location and cause;
* otherwise changed files are renamed into place (a reader never sees half a file), files
  whose checksum is unchanged are not rewritten, and files no location produced any more
  are removed.

Only the base name of a file is used, so no name can place a file outside the landing
folder, and a symbolic link in a source folder that points outside it is refused (never
followed). Every pull of a source has an overall deadline (all downloads, retries and
waits together) and a maximum size per file; a server that trickles, a body that never
ends or a file over the size cap fails the pull promptly, naming the location. Locations
are shown without user, password or query string (`shown_location`), in errors, logs and
metadata alike. `pull_folder` is the one-folder case, kept for existing callers.
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    IncompleteRead,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from ingest.files import sha256_file

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GLOB_CHARACTERS = ("*", "?", "[")
_HTTP_SCHEMES = ("http", "https")
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_REDIRECTS = 5
_MAX_BACKOFF = 60.0
_CHUNK = 1 << 16
#: Defaults of a source's overall deadline and per-file size cap (see config/sources.yaml).
DEFAULT_DEADLINE_SECONDS = 900.0
DEFAULT_MAX_BYTES = 1 << 30


class PullError(RuntimeError):
    """A source could not be pulled; the message names the location and the cause."""


@dataclass(frozen=True)
class PulledFile:
    name: str
    sha256: str
    size_bytes: int
    changed: bool


def is_input_file(path: Path, suffixes: tuple[str, ...]) -> bool:
    """A data file of an accepted type; not a hidden file or an Office lock file (``~$x.xlsx``)."""
    return path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith((".", "~$"))


def pull_folder(source: Path, suffixes: tuple[str, ...], landing: Path) -> list[PulledFile]:
    """Mirror the files of `source` with one of `suffixes` into `landing`."""
    source = Path(source)
    if not source.is_dir():
        raise PullError(f"source folder {source} does not exist or is not a folder")
    return pull_source([str(source)], suffixes, landing)


def pull_source(
    locations: Sequence[str],
    suffixes: tuple[str, ...],
    landing: Path,
    *,
    base_dir: Path | None = None,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    expected_sha256: Mapping[str, str] | None = None,
    deadline: float = DEFAULT_DEADLINE_SECONDS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> list[PulledFile]:
    """Pull every file of `locations` into `landing`, all or nothing.

    A location is a local folder (its files with one of `suffixes`), a glob pattern, or an
    http(s) URL of one file, landed under the URL-decoded last path segment. Relative
    paths and patterns are resolved against `base_dir` (default: the working directory).
    A location that yields no file is an error, so a missing share cannot empty landing.

    `timeout` is the connect and read timeout in seconds; a failed download is tried
    `retries` more times, `backoff` * 2**n seconds apart. `expected_sha256` maps landing
    names to the checksums they must have. `deadline` (seconds) bounds the whole pull,
    retries and waits included; a file larger than `max_bytes` is refused (a download
    stops as soon as it passes the cap). Returns one `PulledFile` per file, in location
    order; raises `PullError` (landing untouched) if anything fails.
    """
    if isinstance(locations, (str, bytes, os.PathLike)):
        raise TypeError("locations must be a sequence of locations, not a single one")
    if timeout <= 0 or retries < 0 or backoff < 0 or deadline <= 0 or max_bytes <= 0:
        raise ValueError("timeout, deadline and max_bytes must be positive, retries and backoff not negative")
    limits = _Limits(time.monotonic() + deadline, deadline, max_bytes)
    if not locations:
        raise PullError("no locations to pull")
    landing = Path(landing)
    expected = {name: value.strip().lower() for name, value in (expected_sha256 or {}).items()}

    items = [item for location in locations for item in resolve_location(os.fspath(location), suffixes, base_dir)]
    seen: dict[str, str] = {}
    for name, origin in items:
        if name in seen:
            raise PullError(f"{seen[name]} and {_shown(origin)} would both land as {_printable(name)}")
        seen[name] = _shown(origin)
    missing = sorted(set(expected) - set(seen))
    if missing:
        raise PullError(f"expected_sha256 names files no location provides: {', '.join(missing)}")

    landing.mkdir(parents=True, exist_ok=True)
    staged: list[_Staged] = []
    temporaries: list[Path] = []
    try:
        with urllib3.PoolManager(
            retries=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            headers={"User-Agent": "collab-health-pull", "Accept-Encoding": "identity"},
        ) as pool:
            for name, origin in items:
                target = landing / name
                current = sha256_file(target) if target.is_file() else None
                if isinstance(origin, Path):
                    item = _stage_file(origin, name, target, current, landing, temporaries, limits)
                else:
                    download = _Download(pool, origin, timeout, retries, backoff, limits)
                    item = download.stage(name, current, landing, temporaries)
                if name in expected and item.sha256 != expected[name]:
                    raise PullError(f"{_shown(origin)}: sha256 mismatch: got {item.sha256}, expected {expected[name]}")
                staged.append(item)
        # Everything is staged: now change landing.
        for item in staged:
            if item.temporary is not None:
                os.replace(item.temporary, landing / item.name)
        wanted = {item.name for item in staged}
        for stale in landing.iterdir():
            if stale.is_file() and stale.name not in wanted:
                stale.unlink()
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)
    return [PulledFile(item.name, item.sha256, item.size_bytes, item.temporary is not None) for item in staged]


@dataclass(frozen=True)
class _Limits:
    """One pull's overall deadline (a `time.monotonic` instant) and per-file size cap."""

    deadline_at: float
    deadline: float
    max_bytes: int

    def remaining(self, shown: str) -> float:
        """Seconds left before the deadline; `PullError` once it has passed."""
        left = self.deadline_at - time.monotonic()
        if left <= 0:
            raise PullError(f"{shown}: the pull's deadline of {self.deadline:g} s passed (deadline_seconds)")
        return left

    def check_size(self, size: int, shown: str, announced: bool = False) -> None:
        if size > self.max_bytes:
            what = "announces" if announced else "is larger than"
            raise PullError(
                f"{shown}: {what} {size:,} bytes{'' if announced else ' so far'}, over the source's size cap of "
                f"{self.max_bytes:,} bytes (max_megabytes)"
            )


@dataclass(frozen=True)
class _Staged:
    name: str
    sha256: str
    size_bytes: int
    temporary: Path | None  # None: the landing file already has these bytes


def resolve_location(
    location: str, suffixes: tuple[str, ...], base_dir: Path | None = None
) -> list[tuple[str, Path | str]]:
    """The (landing name, path or URL) pairs a location stands for; checks names, not contents."""
    kinds = " or ".join(suffixes)
    if _URL.match(location):
        parts = urlsplit(location)
        if parts.scheme.lower() not in _HTTP_SCHEMES or not parts.hostname:
            raise PullError(f"{_shown(location)}: only http:// and https:// URLs can be pulled")
        name = unquote(parts.path.rsplit("/", 1)[-1])
        if not _safe_name(name):
            raise PullError(f"{_shown(location)}: the URL does not end in a usable file name")
        if Path(name).suffix.lower() not in suffixes:
            raise PullError(f"{_shown(location)}: {_printable(name)} is not a {kinds} file")
        return [(name, location)]

    path = Path(location)
    root = Path(base_dir) if base_dir is not None and not path.is_absolute() else None
    if root is not None:
        path = root / path
    if any(character in location for character in _GLOB_CHARACTERS):
        matches = sorted(glob.glob(location, root_dir=root, recursive=True))
        files = [p for p in (root / m if root else Path(m) for m in matches) if is_input_file(p, suffixes)]
        if not files:
            raise PullError(f"{path}: no {kinds} files match")
        _refuse_links_out(files, _glob_root(path))
    elif path.is_dir():
        files = sorted(p for p in path.iterdir() if is_input_file(p, suffixes))
        if not files:
            raise PullError(f"{path}: no {kinds} files in this folder")
        _refuse_links_out(files, path)
    elif path.is_file():
        if not is_input_file(path, suffixes):
            raise PullError(f"{path}: not a {kinds} file")
        files = [path]
    else:
        raise PullError(f"{path}: no such folder or file")
    return [(p.name, p) for p in files]


def _glob_root(pattern: Path) -> Path:
    """The folder a glob pattern searches: its longest leading part without glob characters."""
    parts = []
    for part in pattern.parts:
        if any(character in part for character in _GLOB_CHARACTERS):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _refuse_links_out(files: list[Path], root: Path) -> None:
    """A file in a source folder that is (or lies under) a symbolic link leading outside the
    folder is not followed: the pull fails naming it."""
    base = root.resolve()
    for path in files:
        if not path.resolve().is_relative_to(base):
            raise PullError(
                f"{path.parent / _printable(path.name)}: a symbolic link to a file outside {root}; "
                "links out of a source folder are not followed (copy the file in instead)"
            )


def _safe_name(name: str) -> bool:
    return bool(name) and name.isprintable() and not any(c in name for c in "/\\") and not name.startswith((".", "~$"))


def _printable(text: str) -> str:
    """`text` with control characters (a newline in a file name, say) escaped, so that it
    cannot start a new line of a log."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def shown_location(location: str | os.PathLike) -> str:
    """A location as it may be shown in logs and metadata: a URL without user, password or
    query string (which may hold a token), a path with control characters escaped."""
    return _shown(location if not isinstance(location, str) or _URL.match(location) else Path(location))


def _shown(origin: Path | str) -> str:
    """A path, or a URL without user info and with its query string elided (it may hold a token)."""
    if isinstance(origin, os.PathLike):
        return _printable(os.fspath(origin))
    parts = urlsplit(origin)
    netloc = parts.netloc.rpartition("@")[2]
    shown = f"{parts.scheme}://{netloc}{parts.path}" + ("?..." if parts.query else "")
    return _printable(shown)


def _new_temporary(landing: Path, temporaries: list[Path]) -> Path:
    handle, name = tempfile.mkstemp(dir=landing, prefix=".pull-", suffix=".part")
    os.close(handle)
    temporaries.append(Path(name))
    return Path(name)


def _stage_file(
    path: Path, name: str, target: Path, current: str | None, landing: Path, temporaries: list[Path], limits: _Limits
) -> _Staged:
    """Copy a local file aside in landing, unless landing already has the same bytes."""
    try:
        limits.check_size(path.stat().st_size, _shown(path))
        if current is not None and sha256_file(path) == current:
            return _Staged(name, current, target.stat().st_size, None)
        temporary = _new_temporary(landing, temporaries)
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as source, open(temporary, "wb") as out:
            for block in iter(lambda: source.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
                size += len(block)
            out.flush()
            os.fsync(out.fileno())
    except OSError as error:
        raise PullError(f"{path}: cannot copy: {error.strerror or error}") from error
    if digest.hexdigest() == current:  # the file changed back while we looked
        temporary.unlink()
        return _Staged(name, current, size, None)
    return _Staged(name, digest.hexdigest(), size, temporary)


class _Transient(Exception):
    """A download failure worth another attempt; "{attempts}" in `cause` becomes "4 attempts"."""

    def __init__(self, cause: str):
        super().__init__(cause)
        self.cause = cause


class _Download:
    """One URL fetched into a temporary file, with retries."""

    def __init__(
        self, pool: urllib3.PoolManager, url: str, timeout: float, retries: int, backoff: float, limits: _Limits
    ):
        self.pool, self.url, self.shown = pool, url, _shown(url)
        self.timeout, self.retries, self.backoff, self.limits = timeout, retries, backoff, limits

    def stage(self, name: str, current: str | None, landing: Path, temporaries: list[Path]) -> _Staged:
        temporary = _new_temporary(landing, temporaries)
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                checksum, size = self._fetch(temporary)
                break
            except _Transient as problem:
                if attempt == attempts:
                    counted = f"{attempts} attempt" + ("s" if attempts != 1 else "")
                    raise PullError(f"{self.shown}: {problem.cause.replace('{attempts}', counted)}") from None
                wait = min(self.backoff * 2 ** (attempt - 1), _MAX_BACKOFF)
                if wait >= self.limits.remaining(self.shown):
                    counted = f"{attempt} attempt" + ("s" if attempt != 1 else "")
                    raise PullError(
                        f"{self.shown}: {problem.cause.replace('{attempts}', counted)}; no time left for another "
                        f"before the pull's deadline of {self.limits.deadline:g} s (deadline_seconds)"
                    ) from None
                time.sleep(wait)
        if checksum == current:
            temporary.unlink()
            return _Staged(name, checksum, size, None)
        return _Staged(name, checksum, size, temporary)

    def _fetch(self, temporary: Path) -> tuple[str, int]:
        """One attempt, following http(s) redirects; returns the sha256 and size written."""
        url = self.url
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._request(url)
            try:
                status = response.status
                if status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise PullError(f"{self.shown}: HTTP {status} without a Location header")
                    url = urljoin(url, location)
                    if urlsplit(url).scheme.lower() not in _HTTP_SCHEMES:
                        raise PullError(f"{self.shown}: redirected to a non-http(s) URL ({urlsplit(url).scheme}:)")
                    continue
                if status == 429 or status >= 500:
                    raise _Transient(f"HTTP {status} after {{attempts}}")
                if status != 200:
                    raise PullError(f"{self.shown}: HTTP {status}")
                return self._save(response, temporary)
            finally:
                response.close()
                response.release_conn()
        raise PullError(f"{self.shown}: more than {_MAX_REDIRECTS} redirects")

    def _request(self, url: str) -> urllib3.BaseHTTPResponse:
        wait = min(self.timeout, self.limits.remaining(self.shown))
        try:
            return self.pool.request(
                "GET",
                url,
                redirect=False,
                preload_content=False,
                enforce_content_length=True,
                timeout=urllib3.Timeout(connect=wait, read=wait),
            )
        except NewConnectionError as error:  # before ConnectTimeoutError: it is a subclass
            raise _Transient(f"cannot connect: {_reason(error)} ({{attempts}})") from error
        except ConnectTimeoutError as error:
            raise _Transient(f"connect timed out after {self.timeout} s ({{attempts}})") from error
        except ReadTimeoutError as error:
            raise _Transient(f"timed out after {self.timeout} s waiting for a response ({{attempts}})") from error
        except ProtocolError as error:
            raise _Transient(f"connection broken: {_reason(error)} ({{attempts}})") from error
        except SSLError as error:
            raise PullError(f"{self.shown}: TLS error: {_reason(error)}") from error
        except HTTPError as error:
            raise PullError(f"{self.shown}: {_reason(error)}") from error

    def _save(self, response: urllib3.BaseHTTPResponse, temporary: Path) -> tuple[str, int]:
        """Stream the body into `temporary`, checking it is as long as announced, within the
        size cap and the deadline (each read waits at most the time left)."""
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit():
            self.limits.check_size(int(declared), self.shown, announced=True)
        digest, size = hashlib.sha256(), 0
        sock = getattr(getattr(response, "connection", None), "sock", None)
        try:
            with open(temporary, "wb") as out:
                while True:
                    if sock is not None:
                        sock.settimeout(min(self.timeout, self.limits.remaining(self.shown)))
                    # read1: whatever has arrived (up to a chunk), so a trickle is checked often.
                    block = response.read1(_CHUNK)
                    if not block:
                        break
                    size += len(block)
                    self.limits.check_size(size, self.shown)
                    self.limits.remaining(self.shown)
                    digest.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
        except (ReadTimeoutError, TimeoutError) as error:
            raise _Transient(f"timed out after {self.timeout} s reading the body ({{attempts}})") from error
        except ProtocolError as error:
            incomplete = error.args[1] if len(error.args) > 1 else None
            if isinstance(incomplete, IncompleteRead) and isinstance(incomplete.partial, int):
                got, missing = incomplete.partial, incomplete.expected
                raise _Transient(f"body truncated: got {got} of {got + missing} bytes ({{attempts}})") from error
            raise _Transient(f"connection broken: {_reason(error)} ({{attempts}})") from error
        # urllib3 enforces Content-Length while streaming; this makes sure of it.
        if declared.isdigit() and response.tell() != int(declared):
            raise _Transient(f"body truncated: got {response.tell()} of {declared} bytes ({{attempts}})")
        return digest.hexdigest(), size


def _reason(error: BaseException) -> str:
    """The text of a urllib3 error on one line, without urllib3's connection-object prefix."""
    parts = [arg if isinstance(arg, str) else repr(arg) for arg in error.args] or [type(error).__name__]
    text = re.sub(r"^(<[^>]*>|\w*Connection\([^)]*\)): ", "", ": ".join(parts))
    return " ".join(text.split())
