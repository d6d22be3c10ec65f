"""Where each input comes from: ``config/sources.yaml``, overridable per source from the environment.

Two sources are read by the project's own code: the diagnostic exports and the organisation
reference. Every other source is a publication read with a layout (``config/layouts/``):
each layout file is a source of the same name, and ``sources.yaml`` may add a source of any
name that names its `layout:` (two sources read alike, say). A source in ``sources.yaml``
with no layout is a configuration error naming the file and the source.

A source has one or more locations, each a folder, a glob pattern or an http(s) URL.
Relative paths are relative to the folder holding ``sources.yaml``, wherever it is. The
environment variable `source_variable(name)` replaces a source's locations with one
location (an empty value switches the source off). A source with no location is not
configured: its landing folder is emptied and its tables are loaded empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from ingest.config_files import load_yaml_model
from ingest.landing import DEFAULT_DEADLINE_SECONDS, DEFAULT_MAX_BYTES
from ingest.layouts import Layout, load_layouts

#: Sources read by the project's own code, and the environment variables that override them.
BUILT_IN_SOURCES = {
    "diagnostic_exports": "COLLAB_HEALTH_DIAGNOSTIC_SOURCE",
    "organisations": "COLLAB_HEALTH_ORGANISATIONS_SOURCE",
}


class SourcesError(ValueError):
    pass


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    locations: list[str] = Field(default_factory=list)
    #: Connect and read timeout of one request, in seconds.
    timeout_seconds: float = Field(default=30.0, gt=0)
    retries: int = Field(default=3, ge=0, le=10)
    #: The whole pull of the source (every location, retry and wait) must end within this.
    deadline_seconds: float = Field(default=DEFAULT_DEADLINE_SECONDS, gt=0)
    #: No file of the source may be larger than this (a download stops as soon as it passes it).
    max_megabytes: float = Field(default=DEFAULT_MAX_BYTES / 2**20, gt=0)
    #: Optional pinned checksums: landing file name -> sha256.
    sha256: dict[str, str] = Field(default_factory=dict)
    #: A publication: the layout it is read with (default: the layout named like the source).
    layout: str | None = None

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 2**20)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: dict[str, Source] = Field(default_factory=dict)


def source_variable(name: str) -> str:
    """The environment variable overriding a source: ``COLLAB_HEALTH_<NAME>_SOURCE``
    (``COLLAB_HEALTH_DIAGNOSTIC_SOURCE`` for the diagnostic exports)."""
    return BUILT_IN_SOURCES.get(name) or f"COLLAB_HEALTH_{name.upper()}_SOURCE"


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _absolute(location: str, base: Path) -> str:
    return location if is_url(location) else str((base / Path(location).expanduser()).resolve())


def publication_layouts(config_dir: Path) -> dict[str, Layout]:
    """Every publication source and the layout it is read with (source name -> layout)."""
    config_dir = Path(config_dir)
    layouts = load_layouts(config_dir / "layouts")
    path = config_dir / "sources.yaml"
    configured = load_yaml_model(path, SourcesFile, SourcesError, "sources file").sources if path.exists() else {}
    problems = []
    sources = dict(layouts)
    for name, source in configured.items():
        if name in BUILT_IN_SOURCES:
            if source.layout is not None:
                problems.append(f"{name} is read by the project's own reader: it takes no layout")
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            problems.append(f"source name {name!r}: use lower case letters, digits and _")
            continue
        wanted = source.layout or name
        if wanted not in layouts:
            problems.append(
                f"source {name!r} has no layout: add {config_dir / 'layouts' / (wanted + '.yaml')}"
                + ("" if source.layout else f" or give it `layout:` (layouts: {', '.join(sorted(layouts)) or 'none'})")
            )
            continue
        sources[name] = layouts[wanted].model_copy(update={"name": name})
    if problems:
        raise SourcesError(f"{path}: invalid sources file: " + "; ".join(problems))
    return sources


def load_sources(config_dir: Path, overrides: Mapping[str, str] | None = None) -> dict[str, Source]:
    """Every source (built-in and publications) with absolute locations (none where not
    configured); `overrides` are the ``COLLAB_HEALTH_<SOURCE>_SOURCE`` locations (from the
    settings module), each replacing its source's locations."""
    environ = overrides or {}
    path = Path(config_dir) / "sources.yaml"
    configured = load_yaml_model(path, SourcesFile, SourcesError, "sources file").sources if path.exists() else {}
    names = [*BUILT_IN_SOURCES, *publication_layouts(config_dir)]
    sources = {}
    for name in names:
        source = configured.get(name, Source())
        locations = [_absolute(location, path.parent) for location in source.locations]
        variable = source_variable(name)
        if variable in environ:
            value = environ[variable].strip()
            locations = [_absolute(value, Path.cwd())] if value else []
        sources[name] = source.model_copy(update={"locations": locations})
    return sources
