"""Where each input comes from: ``config/sources.yaml``, overridable per source from the environment.

A source has one or more locations, each a folder, a glob pattern or an http(s) URL.
Relative paths are relative to the folder holding ``sources.yaml``. The environment
variable named in `SOURCE_VARIABLES` replaces a source's locations with one location (an
empty value switches the source off). A source with no location is not configured: its
landing folder is emptied and its tables are loaded empty.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.config_files import load_yaml_model
from ingest.landing import DEFAULT_DEADLINE_SECONDS, DEFAULT_MAX_BYTES

#: Every source the pipeline knows, and the environment variable that overrides it.
SOURCE_VARIABLES = {
    "diagnostic_exports": "COLLAB_HEALTH_DIAGNOSTIC_SOURCE",
    "monthly_ae": "COLLAB_HEALTH_MONTHLY_AE_SOURCE",
    "ae_tidy": "COLLAB_HEALTH_AE_TIDY_SOURCE",
    "staff_survey": "COLLAB_HEALTH_STAFF_SURVEY_SOURCE",
    "shmi": "COLLAB_HEALTH_SHMI_SOURCE",
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

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 2**20)


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: dict[str, Source] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> SourcesFile:
        unknown = sorted(set(self.sources) - set(SOURCE_VARIABLES))
        if unknown:
            raise ValueError(f"unknown sources {', '.join(unknown)}; known: {', '.join(SOURCE_VARIABLES)}")
        return self


def is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _absolute(location: str, base: Path) -> str:
    return location if is_url(location) else str((base / Path(location).expanduser()).resolve())


def load_sources(config_dir: Path, environ: dict[str, str] | None = None) -> dict[str, Source]:
    """Every known source with absolute locations (none where not configured)."""
    environ = os.environ if environ is None else environ
    path = Path(config_dir) / "sources.yaml"
    configured = load_yaml_model(path, SourcesFile, SourcesError, "sources file").sources if path.exists() else {}
    sources = {}
    for name, variable in SOURCE_VARIABLES.items():
        source = configured.get(name, Source())
        locations = [_absolute(location, path.parent) for location in source.locations]
        if variable in environ:
            value = environ[variable].strip()
            locations = [_absolute(value, Path.cwd())] if value else []
        sources[name] = source.model_copy(update={"locations": locations})
    return sources
