"""The system leads' reports: one self-contained HTML page per collaboration, and an index.

Everything comes from the published warehouse (the file analysts read), so a report never
shows what the marts do not. Pages are rendered with Jinja2 (autoescaped) and carry their
styles and charts inline: no request of any kind leaves the page, it opens from `file://`,
and it prints on A4. Groups under the minimum size are never named: organisation scores
come only from rows the marts have not suppressed.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports import bands, headline, icons, network, spc_reading
from reports.charts import ChartCache, Point, Window, build_started, spc_chart
from reports.headline import OPTIONAL_WARNING_COLUMNS
from reports.names import proper_case

TEMPLATES = Path(__file__).resolve().parent / "templates"
BAND_WORDS = {"strength": "Strength", "borderline": "Borderline", "concern": "Concern"}
SIGNAL_WORDS = {
    "improvement": "Improvement (special cause)",
    "concern": "Concern (special cause)",
    "mixed": "Both improvement and concern",
    "special_cause_neutral": "Special cause (neither good nor bad)",
    "common_cause": "Common cause only",
    None: "Too few points for SPC limits",
}


@dataclass(frozen=True)
class ReportSet:
    index: Path
    pages: dict[str, Path]


def _rows(db: duckdb.DuckDBPyConnection, sql: str, parameters: list | None = None) -> list[dict]:
    cursor = db.execute(sql, parameters or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "proportion":
        return f"{value:.1%}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _value_format(unit: str) -> str:
    return {"proportion": ".1%", "count": ",.0f"}.get(unit, ".2f")


def dbt_test_summary(run_results: Path) -> dict[str, int] | None:
    """Tests passed and failed in the night's dbt build, from dbt's run_results.json."""
    if not run_results.exists():
        return None
    results = json.loads(run_results.read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    return {
        "passed": sum(r["status"] == "pass" for r in tests),
        "failed": sum(r["status"] in ("fail", "error") for r in tests),
    }


def _columns(db: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    schema, name = table.split(".")
    return {
        row[0]
        for row in db.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }


def _collaboration_context(db: duckdb.DuckDBPyConnection, collaboration: dict, chart_cache: ChartCache | None) -> dict:
    cid = collaboration["collaboration_id"]
    collaboration = {
        **collaboration,
        "icb_display": proper_case(collaboration["icb_name"]) or collaboration["icb_code"],
    }
    waves = _rows(db, "select * from marts.dim_waves where collaboration_id = ? order by wave", [cid])
    # The latest wave with responses (a wave declared but not yet surveyed has none), and
    # the latest with a score that can be shown: where every group of the latest wave is
    # under the minimum size, the scorecard falls back to the last reportable wave.
    latest = max((w["wave"] for w in waves if w["n_respondents"] > 0), default=None)
    reportable = db.execute(
        "select max(wave) from marts.collaboration_health where collaboration_id = ? and not is_suppressed", [cid]
    ).fetchone()[0]
    scored = reportable if reportable is not None else latest
    # Worst first: the lowest score at the top; withheld characteristics last.
    scorecard = _rows(
        db,
        "select h.characteristic, h.characteristic_name, c.characteristic_description, h.score, h.ci_low, h.ci_high, "
        "h.band, h.score_change, h.n_respondents, h.n_organisations, h.perception_gap, h.is_suppressed, "
        "h.scale_min, h.scale_max "
        "from marts.collaboration_health as h left join marts.dim_characteristics as c "
        "on h.instrument_id = c.instrument_id and h.characteristic = c.characteristic "
        "where h.collaboration_id = ? and h.wave = ? order by h.is_suppressed, h.score, h.characteristic_name",
        [cid, scored],
    )
    scale = db.execute(
        "select min(scale_min), max(scale_max) from marts.dim_characteristics where instrument_id = ?",
        [collaboration["instrument_id"]],
    ).fetchone()
    scale = scale if scale[0] is not None else (1, 5)
    # Organisation scores: only rows the mart has not suppressed (no group under 5 is named).
    organisations = _rows(
        db,
        "select h.characteristic_name, h.organisation_code, coalesce(o.org_name, h.organisation_code) as org_name, h.score "
        "from marts.collaboration_health_by_organisation as h "
        "left join marts.dim_organisations as o on h.organisation_code = o.org_code "
        "where h.collaboration_id = ? and h.wave = ? and not h.is_suppressed and h.score is not null "
        "order by h.organisation_code, h.characteristic_name",
        [cid, scored],
    )
    for row in organisations:
        row["org_name"] = proper_case(row["org_name"])
    withheld_organisations = db.execute(
        "select count(distinct organisation_code) from marts.collaboration_health_by_organisation "
        "where collaboration_id = ? and wave = ? and is_suppressed",
        [cid, scored],
    ).fetchone()[0]
    gaps = [row for row in scorecard if row["perception_gap"] is not None]
    # The overall score of each wave, as the warehouse publishes it with the outcome rows
    # (the mean of the unsuppressed characteristics).
    overall = _rows(
        db,
        "select wave, max(health_score) as score from marts.outcome_linked_collaboration "
        "where collaboration_id = ? group by wave order by wave",
        [cid],
    )
    targets = _rows(
        db,
        "select o.*, m.metric_name, m.unit, m.polarity, m.last_period, m.standard_value, m.domain, m.is_poolable "
        "from marts.outcome_linked_collaboration as o join marts.dim_metrics as m using (metric_id) "
        "where o.collaboration_id = ? order by o.metric_id, o.wave",
        [cid],
    )
    latest_targets = [t for t in targets if t["wave"] == latest]
    latest_window = next((w for w in waves if w["wave"] == latest), None)
    coverage_columns = sorted(set(OPTIONAL_WARNING_COLUMNS) & _columns(db, "marts.system_metrics"))
    metric_ids = sorted({t["metric_id"] for t in targets})
    charts = []
    for metric_id in metric_ids:
        first = next(t for t in targets if t["metric_id"] == metric_id)
        now = next((t for t in latest_targets if t["metric_id"] == metric_id), first)
        anchor = f"measure-{metric_id}"
        # The months around the waves: six before the first baseline to six after the last follow-up.
        first_month = min((w["baseline_start"] for w in waves), default=dt.date(1900, 1, 1))
        last_month = max((w["followup_end_month"] for w in waves), default=dt.date(2999, 1, 1))
        yearly = now.get("period_grain") == "year"
        if yearly:  # a yearly measure's windows are its own years, not the waves' months
            first_month = min([first_month] + [t["baseline_start"] for t in targets if t["metric_id"] == metric_id])
            last_month = max([last_month] + [t["followup_start"] for t in targets if t["metric_id"] == metric_id])
        optional = "".join(f", {column}" for column in coverage_columns)
        series = _rows(
            db,
            "select period_month, value, spc_mean, spc_lower, spc_upper, spc_signal, spc_rules, spc_assurance"
            f"{optional} from marts.system_metrics "
            "where entity_type = 'collaboration' and entity_id = ? and metric_id = ? and value is not null "
            "and period_month >= ? - interval 6 month and period_month <= ? + interval 6 month "
            "order by period_month",
            [cid, metric_id, first_month, last_month],
        )
        # The collaboration's own target where it declares one, else the metric's standard.
        target, target_label = (
            (now["target_value"], "collaboration's target")
            if now["target_value"] is not None
            else (now["standard_value"], "national standard")
        )
        chart = {"metric": now, "anchor": anchor, "svg": None, "points": len(series), "target": target}
        chart["target_label"] = target_label
        charts.append(chart)
        if not series:
            continue
        last = series[-1]
        if target is not None and target == now["standard_value"]:
            assured = last["spc_assurance"]
        else:
            assured = spc_reading.assurance(now["polarity"], last["spc_lower"], last["spc_upper"], target)
        after = (
            [
                r
                for r in series
                if latest_window["followup_start"] <= r["period_month"] <= latest_window["followup_end_month"]
            ]
            if latest_window and not yearly
            else [r for r in series if r["period_month"] >= now["followup_start"]]
            if yearly
            else []
        )
        chart["coverage_flags"] = {
            column: flagged
            for column in coverage_columns
            if (flagged := sum(bool(r[column]) and r[column] not in ("0", "false") for r in after))
        }
        points = [
            Point(r["period_month"], r["value"], r["spc_mean"], r["spc_lower"], r["spc_upper"], r["spc_signal"])
            for r in series
        ]
        windows = [Window(f"Wave {w['wave']}", w["fieldwork_start"], w["fieldwork_end"]) for w in waves]
        signals = [r["spc_signal"] for r in series if r["spc_signal"] not in (None, "common_cause")]
        with_limits = sum(r["spc_upper"] is not None for r in series)  # a short segment may show its mean only
        limits = (
            f"process limits on {with_limits} of them"
            if with_limits
            else "no process limits (12 points or fewer in a segment)"
        )
        target_words = f"; {target_label} {_format(target, now['unit'])} drawn as a line" if target is not None else ""
        description = (
            f"SPC chart of {now['metric_name']} for {collaboration['collaboration_name']}, "
            f"{series[0]['period_month']:%B %Y} to {last['period_month']:%B %Y}, {len(series)} "
            f"{'yearly points' if yearly else 'months'}, {limits}; "
            f"latest value {_format(last['value'], now['unit'])}; "
            f"{len(signals)} special-cause points{target_words}; diagnostic waves shaded."
        )
        verdict = now["spc_signal_since_wave"] if now["wave"] == latest else None
        since_wave = spc_reading.chart_sentence(now["metric_name"], latest, series, after, verdict)
        if yearly and verdict is None and now["spc_note"]:
            since_wave = now["spc_note"]  # says why a yearly measure has no verdict (too few years, not yet published)
        chart.update(
            svg=spc_chart(
                points,
                windows,
                now["metric_name"],
                _value_format(now["unit"]),
                description,
                target=target,
                target_label=f"{target_label[0].upper()}{target_label[1:]} {_format(target, now['unit'])}",
                element_ids=anchor,
                cache=chart_cache,
            ),
            description=description,
            variation=last["spc_signal"],
            side=spc_reading.side(last, now["polarity"]),
            variation_icon=icons.variation_icon(last["spc_signal"], spc_reading.side(last, now["polarity"])),
            assurance=assured,
            assurance_icon=icons.assurance_icon(assured),
            assurance_sentence=spc_reading.assurance_sentence(
                assured,
                f"the {target_label} of {_format(target, now['unit'])}" if target is not None else None,
                (_format(last["spc_lower"], now["unit"]), _format(last["spc_upper"], now["unit"]))
                if last["spc_lower"] is not None
                else None,
            ),
            latest_month=last["period_month"],
            limits=(last["spc_lower"], last["spc_upper"]),
            sentence=" ".join(filter(None, (since_wave, spc_reading.latest_sentence(series, after, since_wave)))),
            disagreement=spc_reading.disagreement(
                now, _format(last["spc_mean"], now["unit"]) if last["spc_mean"] is not None else None
            )
            if now["wave"] == latest
            else None,
        )
    association = _rows(
        db,
        "select a.*, m.metric_name from marts.health_outcome_association as a join marts.dim_metrics as m using (metric_id) "
        "where a.is_reportable and a.metric_id in (select unnest(?)) order by a.characteristic_name, a.metric_id",
        [metric_ids],
    )
    members = _rows(
        db, "select * from marts.dim_collaboration_members where collaboration_id = ? order by org_code", [cid]
    )
    for member in members:
        member["org_name"] = proper_case(member["org_name"])
    context = {
        "collaboration": collaboration,
        "members": members,
        "waves": waves,
        "latest_wave": latest,
        "scored_wave": scored,
        "scale": scale,
        "band_legend": bands.legend(*scale),
        "scorecard": scorecard,
        "overall": overall,
        "organisations": organisations,
        "perception_organisations": sorted({(o["organisation_code"], o["org_name"]) for o in organisations}),
        "withheld_organisations": withheld_organisations,
        "gaps": gaps,
        "targets": targets,
        "latest_targets": latest_targets,
        "charts": charts,
        "association": association,
        "association_metrics": sorted({(a["metric_id"], a["metric_name"]) for a in association}),
    }
    context["data_warnings"] = (
        _rows(db, "select metric_id, message from marts.data_warnings where collaboration_id = ? order by 1, 2", [cid])
        if "message" in _columns(db, "marts.data_warnings")
        else []
    )
    context["networks"] = network.wave_networks(db, cid, waves)
    context["headline"] = headline.statements(context)
    context["warnings"] = headline.warnings(context)
    context["triage"] = headline.triage(context)
    return context


def build_reports(
    warehouse: Path,
    folder: Path,
    run_results: Path | None = None,
    generated: dt.datetime | None = None,
    chart_cache: Path | None = None,
) -> ReportSet:
    """Write one page per collaboration and an index into `folder` (each written aside, then
    renamed). With `chart_cache`, a chart drawn by an earlier build from the same inputs is
    read from that folder, and charts this build did not use are deleted from it."""
    started = build_started()
    charts = ChartCache(chart_cache) if chart_cache else None
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    environment.filters["fmt"] = _format
    environment.globals.update(
        band_words=BAND_WORDS, signal_words=SIGNAL_WORDS, band_rank=bands.ORDER, network_key=network.legend()
    )
    folder.mkdir(parents=True, exist_ok=True)
    generated = generated or dt.datetime.now(dt.UTC).replace(microsecond=0)
    with duckdb.connect(str(warehouse), read_only=True) as db:
        collaborations = _rows(db, "select * from marts.dim_collaborations order by collaboration_name")
        quality = {
            "sources": _rows(
                db,
                "select source, count(*) filter (where status = 'loaded') as files_loaded, "
                "count(*) filter (where status = 'rejected') as files_rejected, sum(rows_read) as rows_read, "
                "sum(rows_clean) as rows_clean, sum(rows_quarantined) as rows_quarantined "
                "from audit.file_loads group by 1 order by 1",
            ),
            "dbt_tests": dbt_test_summary(run_results) if run_results else None,
        }
        freshness = _rows(
            db,
            "select metric_id, metric_name, sources, last_period from marts.dim_metrics "
            "where last_period is not null order by metric_name",
        )
        common = {"generated": generated, "quality": quality, "freshness": freshness}
        pages: dict[str, Path] = {}
        page = environment.get_template("collaboration.html.j2")
        triage = []
        for collaboration, context in zip(
            collaborations, _page_contexts(warehouse, db, collaborations, charts), strict=True
        ):
            pages[collaboration["collaboration_id"]] = _write(
                folder / f"{collaboration['collaboration_id']}.html", page.render(**common, **context)
            )
            triage.append(context["triage"])
        # Worst first (headline.triage says in what order); the reader can sort by any column.
        triage.sort(key=lambda row: row["attention_key"])
        index = _write(
            folder / "index.html",
            environment.get_template("index.html.j2").render(**common, collaborations=triage),
        )
    # A collaboration no longer in the file loses its page.
    for stale in folder.glob("*.html"):
        if stale != index and stale not in pages.values():
            stale.unlink()
    if charts is not None:
        charts.prune(started)
    return ReportSet(index=index, pages=pages)


#: From this many collaborations, pages' data and charts are made on every core (each worker
#: starts a Python and imports matplotlib: about a second, worth it only for many pages).
PARALLEL_FROM = 16


def _contexts_of(warehouse: Path, collaborations: list[dict], charts: ChartCache | None) -> list[dict]:
    """One worker's share: the page contexts (queries and charts) of some collaborations."""
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return [_collaboration_context(db, collaboration, charts) for collaboration in collaborations]


def _page_contexts(
    warehouse: Path, db: duckdb.DuckDBPyConnection, collaborations: list[dict], charts: ChartCache | None
) -> list[dict]:
    """Each collaboration's page context, in order; charts dominate, so with many pages they
    are drawn in worker processes (spawned: the caller may hold threads and locks)."""
    workers = min(os.cpu_count() or 1, len(collaborations) // (PARALLEL_FROM // 2))
    if len(collaborations) < PARALLEL_FROM or workers < 2:
        return [_collaboration_context(db, collaboration, charts) for collaboration in collaborations]
    shares = [collaborations[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_contexts_of, [warehouse] * workers, shares, [charts] * workers))
    # Interleaved shares back into the collaborations' order.
    return [done[i % workers][i // workers] for i in range(len(collaborations))]


def _write(path: Path, html: str) -> Path:
    staging = path.with_name(f".{path.name}.writing")
    staging.write_text(html, encoding="utf-8")
    os.replace(staging, path)
    return path
