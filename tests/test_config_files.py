"""Configuration files fail loudly, naming the file, the entry and the problem."""

import pytest

from conftest import TINY_COLLABORATIONS
from ingest.collaborations import CollaborationsError, collaboration_tables, load_collaborations


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
        (("fieldwork_end: 2024-08-30", "fieldwork_end: 2024-07-30"), r"waves\.0.*fieldwork_end is before fieldwork_start"),
        (("{org: RF4", "{org: not a code"), r"members\.1\.org"),
        (("  - id: tiny", "  - id: Tiny Collab"), r"collaborations\.0\.id"),
        (("waves:", "wavez:"), r"wavez"),
    ],
)
def test_invalid_collaborations_name_file_and_entry(tmp_path, change, message):
    path = tmp_path / "collaborations.yaml"
    path.write_text(TINY_COLLABORATIONS.replace(*change))
    with pytest.raises(CollaborationsError, match=rf"collaborations.yaml: invalid collaborations file: .*{message}"):
        load_collaborations(path)


def test_pulled_file_names_never_leave_the_landing_folder(tmp_path):
    from ingest.landing import pull_folder

    source, landing = tmp_path / "source", tmp_path / "landing"
    source.mkdir()
    (source / "..evil.csv").write_text("x\n")
    (source / "ok.xlsx").write_bytes(b"x")
    (source / "~$ok.xlsx").write_bytes(b"office lock file")
    (tmp_path / "outside.csv").write_text("secret\n")
    (source / "link.csv").symlink_to(tmp_path / "outside.csv")
    pulled = pull_folder(source, (".csv", ".xlsx"), landing)
    # Hidden files ("..evil.csv") and Office lock files are not inputs; the rest are copied
    # under their base name only.
    assert sorted(p.name for p in pulled) == ["link.csv", "ok.xlsx"]
    for path in landing.iterdir():
        assert path.resolve().parent == landing.resolve()
        assert not path.is_symlink()  # a copy of the bytes, not a link out of landing
