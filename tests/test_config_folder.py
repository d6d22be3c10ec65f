"""A configuration folder copied elsewhere: its relative locations resolve against the folder
wherever it is, and a location that does not exist there is said plainly (which source,
which location, which file), never as a traceback about the landing folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

from ingest.sources import load_sources, publication_layouts
from orchestration.assets import clean_assets
from orchestration.resources import DuckDBWarehouse, ProjectPaths

pytestmark = pytest.mark.integration


def test_a_copied_config_folder_says_which_location_is_missing(tmp_path: Path):
    config = tmp_path / "elsewhere" / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    sources = load_sources(config, {})
    # ../sample_data/nhs/monthly_ae is relative to the copied folder, not to the project.
    assert sources["monthly_ae"].locations == [str(tmp_path / "elsewhere" / "sample_data" / "nhs" / "monthly_ae")]

    from dagster import materialize

    layouts = publication_layouts(config)
    wanted = {"landing/monthly_ae", "clean/monthly_ae"}
    assets = [a for a in clean_assets(layouts) if {k.to_user_string() for k in a.keys} & wanted]
    paths = ProjectPaths(data_dir=str(tmp_path / "var"), config_dir=str(config))
    result = materialize(
        assets,
        resources={"paths": paths, "warehouse": DuckDBWarehouse(path=str(tmp_path / "var" / "build.duckdb"))},
        raise_on_error=False,
    )
    pull = next(c for c in result.get_asset_check_evaluations() if c.check_name == "pull_succeeded")
    assert not pull.passed and pull.severity.value == "ERROR"
    assert f"{tmp_path}/elsewhere/sample_data/nhs/monthly_ae: no such folder or file" in pull.description
    assert f"locations from {config}/sources.yaml, relative to its folder, or COLLAB_HEALTH_MONTHLY_AE_SOURCE" in (
        pull.description
    )
    # Monthly A&E is required: its clean step fails, saying why, not with a FileNotFoundError.
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.event_specific_data.error
    while error.cause is not None:
        error = error.cause
    assert error.cls_name == "InputFileError"
    assert "monthly_ae: no files in landing" in error.message
    assert "the source is required (see landing/monthly_ae pull_succeeded); its locations" in error.message
    assert f"{tmp_path}/elsewhere/sample_data/nhs/monthly_ae" in error.message
