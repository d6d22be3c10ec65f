"""Configuration files fail loudly, naming the file, the entry and the problem."""

import pytest
from conftest import PROJECT_ROOT, TINY_COLLABORATIONS

from ingest.collaborations import CollaborationsError, check_target_metrics, collaboration_tables, load_collaborations

pytestmark = pytest.mark.unit


def test_valid_collaborations_flatten_into_tables(tmp_path):
    path = tmp_path / "collaborations.yaml"
    path.write_text(TINY_COLLABORATIONS)
    tables = collaboration_tables(load_collaborations(path))
    assert tables["collaboration_members"]["org_code"].to_list() == ["R1H", "RF4", "R1H", "RQX"]
    assert tables["collaboration_waves"].height == 2
    assert tables["collaborations"]["instrument_id"].to_list() == ["collab_health_core", "wilder_style_cfi"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("fieldwork_end: 2024-08-30", "fieldwork_end: 2024-07-30"),
            r"waves\.0.*fieldwork_end is before fieldwork_start",
        ),
        (("{org: RF4", "{org: not a code"), r"members\.1\.org"),
        (("  - id: tiny", "  - id: Tiny Collab"), r"collaborations\.0\.id"),
        (("waves:", "wavez:"), r"wavez"),
        (
            ("{org: RF4, joined: 2023-04-01}", "{org: RF4, joined: 2023-04-01, left: 2023-01-01}"),
            r"member RF4: left \(2023-01-01\) is before joined",
        ),
        (("purpose: Test the arithmetic by hand.", "purpose: ''"), r"collaborations\.0\.purpose"),
        (("direction: increase, value: 0.75", "direction: sideways"), r"targets\.0\.direction"),
        (
            (
                "      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}\n  - id: tiny_wilder",
                "      - {wave: 1, fieldwork_start: 2024-08-05, fieldwork_end: 2024-08-30}\n      - {wave: 2, fieldwork_start: 2024-08-20, fieldwork_end: 2024-09-10}\n  - id: tiny_wilder",
            ),
            r"tiny: wave 2 starts \(2024-08-20\) before wave 1 ends",
        ),
    ],
)
def test_invalid_collaborations_name_file_and_entry(tmp_path, change, message):
    path = tmp_path / "collaborations.yaml"
    path.write_text(TINY_COLLABORATIONS.replace(*change))
    with pytest.raises(CollaborationsError, match=rf"collaborations.yaml: invalid collaborations file: .*{message}"):
        load_collaborations(path)


def test_pulled_file_names_never_leave_the_landing_folder(tmp_path):
    from ingest.landing import PullError, pull_folder

    source, landing = tmp_path / "source", tmp_path / "landing"
    source.mkdir()
    (source / "..evil.csv").write_text("x\n")
    (source / "ok.xlsx").write_bytes(b"x")
    (source / "~$ok.xlsx").write_bytes(b"office lock file")
    (tmp_path / "outside.csv").write_text("secret\n")
    (source / "link.csv").symlink_to(tmp_path / "outside.csv")
    # Issue 21 changed this: a link out of the source folder is refused, never followed.
    with pytest.raises(PullError, match=r"link\.csv: a symbolic link to a file outside"):
        pull_folder(source, (".csv", ".xlsx"), landing)
    (source / "link.csv").unlink()
    (source / "link.csv").symlink_to(source / "ok.xlsx")  # a link inside the folder is copied
    pulled = pull_folder(source, (".csv", ".xlsx"), landing)
    # Hidden files ("..evil.csv") and Office lock files are not inputs; the rest are copied
    # under their base name only.
    assert sorted(p.name for p in pulled) == ["link.csv", "ok.xlsx"]
    for path in landing.iterdir():
        assert path.resolve().parent == landing.resolve()
        assert not path.is_symlink()  # a copy of the bytes, not a link out of landing


def test_targets_must_be_metrics_of_the_catalogue_monthly_or_yearly(tmp_path):
    """Issue 22: a yearly metric (the Staff Survey's engagement) may now be a target; a
    metric the catalogue does not have is still refused, naming the collaboration."""
    from ingest.metric_catalogue import load_metric_catalogue

    path = tmp_path / "collaborations.yaml"
    path.write_text(
        TINY_COLLABORATIONS.replace(
            "      - {metric: ae_4h_all, direction: increase, value: 0.75}",
            "      - {metric: ae_4h_all, direction: increase, value: 0.75}\n"
            "      - {metric: staff_engagement, direction: increase}\n"
            "      - {metric: no_such_metric, direction: decrease}",
        )
    )
    catalogue = load_metric_catalogue(PROJECT_ROOT / "config" / "metrics.yaml")
    with pytest.raises(CollaborationsError) as raised:
        check_target_metrics(load_collaborations(path), catalogue, path)
    message = str(raised.value)
    assert "tiny: no_such_metric is not in the metric catalogue" in message
    assert "staff_engagement" not in message.split(". Metrics:")[0]  # a yearly target is accepted
    assert "ae_4h_all" not in message.split(". Metrics:")[0]
