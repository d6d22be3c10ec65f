"""Writing the warehouse: a big table spilled to Parquet file by file is written by DuckDB with only
the kept rows; one_connection opens the file once for many reads and writes."""

import polars as pl
import pytest

from orchestration.resources import DuckDBWarehouse

pytestmark = pytest.mark.integration


def test_a_spilled_table_keeps_exactly_the_kept_rows_of_every_file(tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    # Two files' answers: a.csv rows 2 and 3 (row 3 superseded), b.csv row 2.
    pl.DataFrame(
        {"source_file": ["a.csv", "a.csv", "a.csv"], "source_row": [2, 2, 3], "item_id": ["q1", "q2", "q1"]}
    ).with_columns(pl.col("source_file").cast(pl.Categorical)).write_parquet(spill / "000001.parquet")
    pl.DataFrame({"source_file": ["b.csv"], "source_row": [2], "item_id": ["q1"]}).with_columns(
        pl.col("source_file").cast(pl.Categorical)
    ).write_parquet(spill / "000002.parquet")
    kept = pl.DataFrame({"source_file": ["a.csv", "b.csv", "c.csv"], "source_row": [2, 2, 9], "respondent": [1, 2, 3]})

    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    rows = warehouse.replace_table_from_parquet("clean", "answers", spill, kept, ["source_file", "source_row"])

    assert rows == 3
    with warehouse.connect(read_only=True) as db:
        table = db.execute("select * from clean.answers order by source_file, source_row, item_id").fetchall()
        types = db.execute(
            "select data_type from information_schema.columns where table_name = 'answers' order by ordinal_position"
        ).fetchall()
    assert table == [("a.csv", 2, "q1"), ("a.csv", 2, "q2"), ("b.csv", 2, "q1")]
    assert types == [("VARCHAR",), ("BIGINT",), ("VARCHAR",)]


def test_a_warehouse_path_with_glob_characters_still_finds_its_files(tmp_path):
    folder = tmp_path / "runs[1]" / "spill*"
    folder.mkdir(parents=True)
    pl.DataFrame({"source_file": ["a.csv"], "source_row": [2]}).write_parquet(folder / "000001.parquet")
    warehouse = DuckDBWarehouse(path=str(tmp_path / "runs[1]" / "w.duckdb"))
    assert warehouse.replace_table_from_parquet("clean", "rows", folder) == 1


def test_one_connection_opens_the_warehouse_once_and_leaves_it_closed(tmp_path, monkeypatch):
    import duckdb

    warehouse = DuckDBWarehouse(path=str(tmp_path / "w.duckdb"))
    opened = []
    real_connect = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(a) or real_connect(*a, **k))
    with warehouse.one_connection():
        warehouse.replace_tables("clean", {"t": pl.DataFrame({"x": [1, 2, 3]})})
        assert warehouse.count_rows("clean", "t") == 3
        with warehouse.one_connection():  # nested: the same connection
            assert warehouse.read_table("clean", "t")["x"].to_list() == [1, 2, 3]
        assert [frame.height for frame in warehouse.read_batches("clean", "t", rows=2)] == [2, 1]
    assert len(opened) == 1
    # Closed after: another process (dbt) may open the file for writing; a new connection sees the table.
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as other:
        assert other.execute("select sum(x) from clean.t").fetchone()[0] == 6
    assert warehouse.count_rows("clean", "t") == 3
    assert len(opened) == 3
