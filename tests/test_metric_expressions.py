"""The metric catalogue's expression language: what it allows computes as polars' SQL
would, and nothing that could read a file, reach the network or run a query gets through."""

import re

import polars as pl
import pytest
import yaml
from conftest import PROJECT_ROOT

from ingest.metric_catalogue import MetricCatalogue, load_metric_catalogue
from ingest.metric_expressions import FUNCTIONS, MetricExpressionError, parse_metric_expression

pytestmark = pytest.mark.unit

FRAME = pl.DataFrame(
    {
        "a": [7, None, 3, 0, -4],
        "b": [2, 2, 0, 5, 3],
        "rate": [12.5, 50.0, None, 100.0, 0.0],
        "department_type": ["1", "2", None, "3", "1"],
        "Org code": ["R1H", "RF4", "RQX", None, "R1H"],
    }
)


def values(expression: str) -> list:
    return FRAME.select(parse_metric_expression(expression).alias("x"))["x"].to_list()


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a + b * 2", [11, None, 3, 10, 2]),
        ("a / b", [3.5, None, float("inf"), 0.0, -4 / 3]),
        ("(a - b) % 3", [2, None, 0, -2, -1]),
        ("-a", [-7, None, -3, 0, 4]),
        ("coalesce(a, 0) + 1", [8, 1, 4, 1, -3]),
        ("nullif(b, 0)", [2, 2, None, 5, 3]),
        ("abs(a)", [7, None, 3, 0, 4]),
        ("round(rate / 3, 1)", [4.2, 16.7, None, 33.3, 0.0]),
        ("greatest(a, b)", [7, 2, 3, 5, 3]),
        ("least(a, b)", [2, 2, 0, 0, -4]),
        ("department_type = '1'", [True, False, None, False, True]),
        ("department_type in ('1', '3')", [True, False, None, True, True]),
        ("department_type not in ('1')", [False, True, None, True, False]),
        ("a between 0 and 5", [False, None, True, True, False]),
        ("a is null or b > 4", [False, True, False, True, False]),
        ("not (a > 0) and b is not null", [False, None, False, True, True]),
        (
            "case when a > 5 then 'big' when a > 0 then 'small' else 'none' end",
            ["big", "none", "small", "none", "none"],
        ),
        ("\"Org code\" <> 'R1H'", [False, True, True, None, False]),
        ("rate / 100 * b", [0.25, 1.0, None, 5.0, 0.0]),
    ],
)
def test_the_language_computes_what_it_says(expression, expected):
    got = values(expression)
    for have, want in zip(got, expected, strict=True):
        assert have == pytest.approx(want) if isinstance(want, float) else have == want, (expression, got)


def catalogue_expressions() -> list[str]:
    """Every numerator, denominator and filter of the shipped catalogue."""
    document = yaml.safe_load((PROJECT_ROOT / "config" / "metrics.yaml").read_text())
    return sorted(
        {
            d[k]
            for m in document["metrics"]
            for d in m["sources"].values()
            for k in ("numerator", "denominator", "filter")
            if d.get(k)
        }
    )


@pytest.mark.parametrize("expression", catalogue_expressions())
def test_every_shipped_expression_gives_what_polars_sql_gave(expression):
    """The catalogue's own expressions compute exactly as before the language was restricted
    (when polars' SQL evaluated them), on a frame holding every column they name."""
    assert isinstance(load_metric_catalogue(PROJECT_ROOT / "config" / "metrics.yaml"), MetricCatalogue)
    text = re.sub(r"'[^']*'", "''", expression)  # column names only, not the words of a text literal
    columns = sorted(set(re.findall(r"[a-z_][a-z0-9_]*", text)) - {"coalesce", "and", "or", "not", "in"})
    # A column compared with a text literal holds text: those literals, one not among them, a null.
    compared = dict(re.findall(r"([a-z_][a-z0-9_]*)\s*(?:=|<>|!=|\bin\b)\s*\(?\s*('[^']*')", expression))
    frame = pl.DataFrame(
        {
            c: [compared[c].strip("'"), "another", None, compared[c].strip("'")]
            if c in compared
            else [10.0, None, 3.0, 250.0]
            for c in columns
        }
    )
    ours = frame.select(parse_metric_expression(expression).alias("x"))["x"]
    polars_sql = frame.select(pl.sql_expr(expression).alias("x"))["x"]
    assert ours.cast(polars_sql.dtype).to_list() == polars_sql.to_list()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("(select max(column_1) from read_csv('/etc/shadow'))", "queries and statements are not allowed"),
        ("read_csv('/etc/passwd')", "function 'read_csv' is not allowed"),
        ("a + (select 1)", "queries and statements are not allowed"),
        ("read_text('https://example.org/x')", "function 'read_text' is not allowed"),
        ("getenv('COLLAB_HEALTH_PSEUDONYM_KEY')", "function 'getenv' is not allowed"),
        ("a; copy x to '/tmp/x'", "';' is not allowed"),
        ("a /* comment */", "found '*'"),
        ("a::varchar", "':' is not allowed"),
        ("{a}", "'{' is not allowed"),
        ("$a", "'$' is not allowed"),
        ("a.b", "'.' is not allowed"),
        ("nullif(a)", "nullif() takes 2 arguments, not 1"),
        ("round(a, b)", "number of decimals must be a whole number"),
        ("case when a then 1", "expected 'end'"),
        ("not a", None),  # allowed: a boolean column may be negated
        ("(" * 40 + "a" + ")" * 40, "nested more than 32 deep"),
        ("a" + " + a" * 700, "longer than 2000 characters"),
        ("", "empty"),
    ],
)
def test_anything_but_the_language_is_refused(expression, message):
    if message is None:
        parse_metric_expression(expression)
        return
    with pytest.raises(MetricExpressionError, match=re.escape(message)):
        parse_metric_expression(expression)


def test_a_catalogue_that_tries_to_read_a_file_is_a_configuration_error_that_reads_nothing(tmp_path):
    """A numerator reading a file is refused when the catalogue is loaded: the file's content
    appears in no message, and the functions allowed are exactly the documented ones."""
    secret = tmp_path / "secret.csv"
    secret.write_text("column_1\nroot-password-hash\n")
    (tmp_path / "metrics.yaml").write_text(
        "metrics:\n  - {id: m, name: M, domain: access, unit: count, polarity: neutral, description: d,\n"
        f"     sources: {{ae_tidy: {{numerator: \"(select max(column_1) from read_csv('{secret}'))\"}}}}}}\n"
    )
    with pytest.raises(ValueError, match="not a valid SQL expression") as raised:
        load_metric_catalogue(tmp_path / "metrics.yaml")
    assert "root-password-hash" not in str(raised.value)
    assert sorted(FUNCTIONS) == ["abs", "coalesce", "greatest", "least", "nullif", "round"]
