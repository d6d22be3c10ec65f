"""The dbt project's SQL stays portable between DuckDB and Spark (issue 19).

- The bootstrap's pseudo-random draws (macros/random_index.sql) and round_double
  (macros/rounding.sql) are pinned by dbt tests that run on both engines; their expected
  values are re-derived here from a Python reference, so both engines are held to it.
- A scan of the models for SQL that only DuckDB runs (each with the macro to use instead),
  so a model that would break the Spark build is caught by `make check`, without Spark.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

DBT_PROJECT = Path(__file__).resolve().parent.parent / "dbt_project"
MASK32 = 2**32
#: The multipliers of random_index's keys after the first, as in macros/random_index.sql.
KEY_MULTIPLIERS = (2654435761, 2246822519, 3266489917, 668265263)


def xor_shift(value: int, bits: int) -> int:
    return value ^ (value >> bits)


def random_index(keys: list[int], n: int) -> int:
    """Python reference of macros/random_index.sql's random_index."""
    mixed = (
        keys[0] + sum(key * multiplier for key, multiplier in zip(keys[1:], KEY_MULTIPLIERS, strict=False))
    ) % MASK32
    mixed = xor_shift(mixed, 16)
    mixed = mixed * 569420461 % MASK32
    mixed = xor_shift(mixed, 15)
    mixed = mixed * 1935289751 % MASK32
    mixed = xor_shift(mixed, 15)
    return mixed % n + 1


def stable_hash(keys: list[object]) -> int:
    """Python reference of macros/random_index.sql's stable_hash."""
    return int(hashlib.md5("|".join(map(str, keys)).encode()).hexdigest()[:8], 16)


def test_the_dbt_draw_cases_are_the_python_reference_values():
    text = (DBT_PROJECT / "tests" / "generic" / "random_draws_match_the_reference.sql").read_text()
    cases = re.findall(r"\('(\w+)', '(\w+)', (\d+), (\d+), (\d+), (\d+), (\d+)\)", text)
    assert len(cases) == 6
    for characteristic, metric, resample, draw, n, seed, drawn in cases:
        expected_seed = stable_hash([20240801, characteristic, metric])
        assert int(seed) == expected_seed, (characteristic, metric)
        assert int(drawn) == random_index([expected_seed, int(resample), int(draw)], int(n))


def test_the_seed_in_the_dbt_cases_is_the_bootstrap_seed():
    project = (DBT_PROJECT / "dbt_project.yml").read_text()
    assert "association_bootstrap_seed: 20240801" in project


def test_draws_are_spread_evenly_and_distinct_keys_mix_to_distinct_values():
    seed = stable_hash([20240801, "shared_purpose", "ae_4h_all"])
    n = 12
    draws = Counter(random_index([seed, resample, draw], n) for resample in range(1, 1001) for draw in range(1, n + 1))
    assert set(draws) == set(range(1, n + 1))
    expected = 1000
    chi_square = sum((count - expected) ** 2 / expected for count in draws.values())
    assert chi_square < 31.3  # 11 degrees of freedom, p = 0.001
    # The keys' linear combination is one-to-one over the bootstrap's ranges (and the mixing
    # steps are bijections of 32-bit numbers), so no two draws share a hash.
    combined = {
        (seed + resample * KEY_MULTIPLIERS[0] + draw * KEY_MULTIPLIERS[1]) % MASK32
        for resample in range(1, 1001)
        for draw in range(1, 201)
    }
    assert len(combined) == 1000 * 200


def test_the_dbt_rounding_cases_are_half_up_on_the_stored_double():
    text = (DBT_PROJECT / "tests" / "generic" / "round_double_is_half_up_on_the_stored_double.sql").read_text()
    cases = re.findall(r"\['(-?[\d.]+)', (\d), '(-?[\d.]+)'\]", text)
    assert len(cases) == 12
    for value, places, expected in cases:
        exact = Decimal(float(value)).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
        assert float(exact) == float(expected), value
    # The cases include doubles stored just below a half (where rounding the printed decimal
    # would go up) and exact halves (which go away from zero).
    assert ("3.675", "2", "3.67") in cases and ("0.125", "2", "0.13") in cases


#: SQL that DuckDB runs and Spark does not, and what to write instead (README, "Running on
#: Spark / Databricks"; dbt_project/macros/README.md).
NOT_PORTABLE = {
    r"\bvarchar\b": "string (both engines' name for text)",
    r"\bdouble precision\b": "double",
    r"\btext\)": "string",
    r"\blist\(": "{{ value_list(...) }} (macros/lists.sql)",
    r"\blist_contains\(": "{{ list_contains_value(...) }} (macros/lists.sql)",
    r"(?<![\w.])hash\(": "{{ stable_hash(...) }} / {{ random_index(...) }} (macros/random_index.sql)",
    r"::": "cast(... as ...)",
    r"over \(\s*\w+\s+(rows|range)\b": "the window spelt out: Spark cannot add a frame to a named window",
    r"(?<![\w_])round\((?!cast\()": "{{ round_double(x, places) }} for a double (macros/rounding.sql), "
    "or round(cast(x as decimal(38, 12)), places)",
}


#: Allowed where an engine's own hash() only pre-filters and the result does not depend on it:
#: DuckDB's is 64-bit, Spark's 32-bit (more collisions, which the test then groups by value).
ALLOWED = {"unique_combination_of_columns.sql": {r"(?<![\w.])hash\("}}


def sql_without_comments(path: Path) -> str:
    text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.DOTALL)
    return "\n".join(line.split("--")[0] for line in text.splitlines())


@pytest.mark.parametrize(
    "path",
    sorted((DBT_PROJECT / "models").rglob("*.sql")) + sorted((DBT_PROJECT / "tests").rglob("*.sql")),
    ids=lambda path: path.name,
)
def test_models_use_sql_both_engines_run(path: Path):
    text = sql_without_comments(path)
    found = [
        f"{match.group(0)!r} (line {text[: match.start()].count(chr(10)) + 1}): use {instead}"
        for pattern, instead in NOT_PORTABLE.items()
        if pattern not in ALLOWED.get(path.name, set())
        for match in re.finditer(pattern, text, flags=re.IGNORECASE)
    ]
    assert not found, f"{path.relative_to(DBT_PROJECT)} has SQL that Spark cannot run: " + "; ".join(found)


@pytest.mark.parametrize("path", sorted((DBT_PROJECT / "models").rglob("*.yml")), ids=lambda path: path.name)
def test_contracts_declare_types_both_engines_name(path: Path):
    declared = re.findall(r"data_type:\s*([\w ]+?)\s*$", path.read_text(), flags=re.MULTILINE)
    unportable = sorted({t for t in declared if t.lower() in ("varchar", "text", "double precision", "float8")})
    assert not unportable, f"{path.name} declares {unportable}: use string or double (Spark has no such types)"


def test_the_scan_finds_what_it_looks_for(tmp_path: Path):
    model = tmp_path / "m.sql"
    model.write_text(
        "-- varchar in a comment is fine\n"
        "select cast(a as varchar), list(b), round(c, 2), round(cast(d as decimal(38, 12)), 2),\n"
        "    sum(e) over (w rows between 1 preceding and current row), {{ round_double('f', 2) }}\n"
    )
    text = sql_without_comments(model)
    hits = {pattern for pattern in NOT_PORTABLE if re.search(pattern, text, flags=re.IGNORECASE)}
    assert hits == {r"\bvarchar\b", r"\blist\(", r"(?<![\w_])round\((?!cast\()", r"over \(\s*\w+\s+(rows|range)\b"}
