"""No silent false conclusions from publications (issue 13, the reader's part), each on small
files written here and run through the Dagster assets and checks:

- a publication's own total row that its rows do not add up to fails `totals_reconcile`
  (severity ERROR) naming the file, column, published and summed values;
- two headers that match one column (``period`` and ``Period``) reject the file, naming both;
- two files of one source with different columns each load on their own (no ShapeError);
- in every case rows reconcile: read = clean + quarantined, file by file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import AE_HEADER, LAYOUTS_DIR, ae_row

from ingest.sources import publication_layouts
from orchestration.assets import clean_assets
from orchestration.checks import files_accepted_check, reconciliation_check, totals_check
from orchestration.resources import DuckDBWarehouse, ProjectPaths

pytestmark = pytest.mark.integration

#: SHMI as the 2012-2019 file has it, and a 2015-2019 file with fewer columns in another order.
SHMI_2012 = (
    '"Code","Year.Index","SHMI.Index","Name","Responses","Engagement.Index"\n'
    '"R1F",2014,1.02,"Isle of Wight NHS Trust",400,3.7\n'
    '"R1F",2015,1.05,"Isle of Wight NHS Trust",410,3.8\n'
)
SHMI_2015 = (
    '"Year.Index","Code","SHMI.Index","Name"\n'
    '2015,"R1F",1.04,"Isle of Wight NHS Trust"\n'
    '2016,"R1F",1.01,"Isle of Wight NHS Trust"\n'
)


def materialize_publications(root: Path, sources: dict[str, Path]):
    from dagster import materialize

    config = root / "config"
    (config / "layouts").mkdir(parents=True)
    for name in sources:
        shutil.copy(LAYOUTS_DIR / f"{name}.yaml", config / "layouts")
    (config / "sources.yaml").write_text(
        "sources:\n" + "".join(f"  {name}: {{locations: ['{folder}']}}\n" for name, folder in sources.items())
    )
    layouts = publication_layouts(config)
    wanted = {f"{stage}/{name}" for name in sources for stage in ("landing", "clean")}
    assets = [a for a in clean_assets(layouts) if {k.to_user_string() for k in a.keys} & wanted]
    checks = [
        check(name, name)
        for name in sources
        for check in (reconciliation_check, files_accepted_check, lambda n, _: totals_check(n))
    ]
    warehouse = root / "build.duckdb"
    result = materialize(
        [*assets, *checks],
        resources={
            "paths": ProjectPaths(data_dir=str(root / "var"), config_dir=str(config)),
            "warehouse": DuckDBWarehouse(path=str(warehouse)),
        },
    )
    evaluations = {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}
    return result, evaluations, duckdb.connect(str(warehouse), read_only=True)


def test_edited_total_ambiguous_headers_and_files_with_different_columns(tmp_path):
    ae, shmi = tmp_path / "ae", tmp_path / "shmi"
    ae.mkdir(), shmi.mkdir()
    # An edited file: its rows add up to 150 attendances and 30 over 4 hours; its total says 210 and 30.
    edited = [AE_HEADER, ae_row("JULY", "R1H", 100, 20), ae_row("JULY", "RF4", 50, 10)]
    edited.append("TOTAL,TOTAL,TOTAL,TOTAL," + ",".join(["210", "0", "0", "0", "0", "0", "30"] + ["0"] * 11))
    (ae / "Monthly-AE-July-2024.csv").write_text("\n".join(edited) + "\n")
    # A tidy A&E file given to the Monthly A&E source: `period` and `Period` both match "Period".
    (ae / "Monthly-AE-August-2024.csv").write_text(
        AE_HEADER.replace("Period,Org Code", "period,Org Code,Period")
        + "\n"
        + "2024-08-01,"
        + ae_row("AUGUST", "R1H", 1, 0)
        + "\n"
    )
    (shmi / "shmi_staff_survey_trust_year_2012_2019.csv").write_text(SHMI_2012)
    (shmi / "shmi_trust_year_2015_2019.csv").write_text(SHMI_2015)

    result, checks, db = materialize_publications(tmp_path, {"monthly_ae": ae, "shmi": shmi})
    assert result.success  # ERROR-severity checks fail, but nothing crashes

    # The total that its rows do not add up to: named with file, column, published and summed.
    totals = checks[("monthly_ae", "totals_reconcile")]
    assert not totals.passed and totals.severity.value == "ERROR"
    assert totals.description == (
        "Monthly-AE-July-2024.csv, column attendances_type1: published total 210 (row 4) but its rows sum to 150"
    )
    assert totals.metadata["mismatches"].value == [
        {
            "file": "Monthly-AE-July-2024.csv",
            "column": "attendances_type1",
            "published": 210.0,
            "summed": 150.0,
            "totals_mismatched": 1,
            "worst_row": 4,
            "worst_published": 210.0,
            "worst_summed": 150.0,
        }
    ]
    assert checks[("shmi", "totals_reconcile")].passed  # SHMI declares no totals: nothing to compare

    # Ambiguous headers: the file is rejected whole, naming both headers; the other file loads.
    accepted = checks[("monthly_ae", "files_accepted")]
    assert not accepted.passed
    assert accepted.metadata["rejected_files"].value == [
        {
            "file": "Monthly-AE-August-2024.csv",
            "error": "Monthly-AE-August-2024.csv: ambiguous headers 'period' and 'Period': each matches the column "
            "period ('Period'); the file must have only one",
        }
    ]
    # SHMI files with different columns each loaded; 2015 comes from the later-named file.
    assert checks[("shmi", "files_accepted")].passed
    shmi_rows = db.execute(
        "select year(period_start), shmi_index, engagement_index, source_file from clean.shmi order by 1"
    ).fetchall()
    assert shmi_rows == [
        (2014, 1.02, 3.7, "shmi_staff_survey_trust_year_2012_2019.csv"),
        (2015, 1.04, None, "shmi_trust_year_2015_2019.csv"),
        (2016, 1.01, None, "shmi_trust_year_2015_2019.csv"),
    ]
    superseded = db.execute("select source_file, source_row, reason from quarantine.shmi").fetchall()
    assert superseded == [
        (
            "shmi_staff_survey_trust_year_2012_2019.csv",
            3,
            "superseded by shmi_trust_year_2015_2019.csv row 2 for this organisation and period",
        )
    ]

    # Nothing lost: read = clean + quarantined for every loaded file, and the checks agree.
    loads = db.execute(
        "select source, source_file, status, rows_read, rows_clean, rows_quarantined from audit.file_loads order by 1, 2"
    ).fetchall()
    assert loads == [
        ("monthly_ae", "Monthly-AE-August-2024.csv", "rejected", None, None, None),
        ("monthly_ae", "Monthly-AE-July-2024.csv", "loaded", 3, 2, 1),
        ("shmi", "shmi_staff_survey_trust_year_2012_2019.csv", "loaded", 2, 1, 1),
        ("shmi", "shmi_trust_year_2015_2019.csv", "loaded", 2, 2, 0),
    ]
    assert checks[("monthly_ae", "rows_reconcile")].passed and checks[("shmi", "rows_reconcile")].passed
    db.close()
