"""Deterministic generator of a national-scale input set for the nightly job.

    .venv/bin/python benchmarks/national_inputs.py OUTPUT_FOLDER [--scale 1.0]

At scale 1 (the issue's defaults): the 42 ICBs and ~210 trusts of the bundled ODS reference;
60 collaborations with 6 waves each and ~1,000 respondents per collaboration and wave
(~60,000 a wave) answering the 40-item Wilder-style instrument; and 10 years (2015-2024) of
Monthly A&E files for 250 organisations, from which a generated metric catalogue derives 30
monthly metrics. The scale factor multiplies collaborations, respondents and organisations.

OUTPUT_FOLDER gets ``config/`` (a complete configuration folder: sources.yaml pointing at
the generated data, collaborations.yaml, metrics.yaml, spc.yaml, instruments/) and
``data/`` (diagnostic_exports/, monthly_ae/, organisations/). Run the job on it with
``COLLAB_HEALTH_CONFIG_DIR=OUTPUT_FOLDER/config``. The same scale and seed always give the
same bytes. Organisations beyond the real ones get invented codes (X0001...), added to the
copy of the ODS extracts so they belong to an ICB; every respondent is invented.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.codebook import load_codebooks  # noqa: E402
from ingest.collaborations import load_collaborations  # noqa: E402
from ingest.layouts import load_layout  # noqa: E402
from ingest.synthetic import generate_exports, sample_org_names  # noqa: E402

SEED = 20261126
REFERENCE = ROOT / "sample_data" / "reference" / "organisations"
AE_TEMPLATE = ROOT / "sample_data" / "nhs" / "monthly_ae" / "Monthly-AE-December-2024.csv"
INSTRUMENT = "wilder_style_cfi"
MONTHS = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
]
#: Where each generated data source lives, relative to the output folder's config/.
SOURCE_FOLDERS = {
    "diagnostic_exports": "diagnostic_exports",
    "monthly_ae": "monthly_ae",
    "organisations": "organisations",
}
#: The Monthly A&E layout: the only publication the national set generates.
AE_LAYOUT = ROOT / "config" / "layouts" / "monthly_ae.yaml"
COUNT_COLUMNS = load_layout(AE_LAYOUT).declared_measures


@dataclass(frozen=True)
class Scale:
    """The size of a generated input set."""

    factor: float = 1.0
    collaborations: int = 60
    waves: int = 6
    respondents_per_wave: int = 60_000
    organisations: int = 250
    metrics: int = 30
    first_year: int = 2015
    years: int = 10

    @classmethod
    def at(cls, factor: float) -> Scale:
        base = cls()
        return cls(
            factor=factor,
            collaborations=max(2, round(base.collaborations * factor)),
            respondents_per_wave=max(40, round(base.respondents_per_wave * factor)),
            organisations=max(12, round(base.organisations * factor)),
        )


@dataclass(frozen=True)
class Inputs:
    config_dir: Path
    data_dir: Path
    files: int
    bytes: int
    diagnostic_rows: int
    ae_rows: int


def _etr_rows(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def organisations(scale: Scale) -> list[tuple[str, str, list[str]]]:
    """(code, ICB, A&E template row) for each organisation with A&E data: the real trusts of
    the December 2024 file that the ODS extract places in an ICB, then invented ones."""
    icb_of = {row[0]: row[3] for row in _etr_rows(REFERENCE / "etr_2025-07.csv") if row[3]}
    with open(AE_TEMPLATE, encoding="utf-8-sig", newline="") as handle:
        body = [r for r in list(csv.reader(handle))[1:] if r and r[1].strip().lower() != "total"]
    real = [(row[1], icb_of[row[1]], row) for row in body if row[1] in icb_of]
    icbs = sorted(set(icb_of.values()))
    chosen = real[: scale.organisations]
    for n in range(scale.organisations - len(chosen)):
        template = real[n % len(real)][2]
        chosen.append((f"X{n + 1:04d}", icbs[n % len(icbs)], template))
    return chosen


def write_organisations(folder: Path, orgs: list[tuple[str, str, list[str]]]) -> None:
    """A copy of the ODS reference, with a record for each invented organisation."""
    shutil.copytree(REFERENCE, folder, dirs_exist_ok=True)
    invented = [(code, icb) for code, icb, _ in orgs if code.startswith("X")]
    if not invented:
        return
    placed_in = {row[0]: row[3] for row in _etr_rows(REFERENCE / "etr_2025-07.csv") if row[3]}
    for extract in sorted(folder.glob("etr_*.csv")):
        rows = _etr_rows(extract)
        template = rows[0]
        # An invented trust sits, in each extract, where most of its ICB's real trusts sit
        # there: a later extract names the ICBs valid at its own date (e.g. after mergers).
        here = {row[0]: row[3] for row in rows if row[3]}
        moved: dict[str, Counter] = {}
        for trust, icb in placed_in.items():
            if trust in here:
                moved.setdefault(icb, Counter())[here[trust]] += 1
        for code, icb in invented:
            record = list(template)
            record[0], record[1], record[3], record[10], record[11] = (
                code,
                f"INVENTED TRUST {code}",
                min(moved[icb].most_common(), key=lambda pair: (-pair[1], pair[0]))[0] if icb in moved else icb,
                "20100401",
                "",
            )
            rows.append(record)
        with open(extract, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle, quoting=csv.QUOTE_ALL).writerows(rows)


def write_ae_files(
    folder: Path, templates: list[tuple[str, list[str]]], first_year: int, years: int, seed: int = 11
) -> int:
    """Monthly A&E files in the original layout, one per month, each with a row per
    (code, template row) - counts varied around the template's - and a total row.
    Returns the data rows written."""
    with open(AE_TEMPLATE, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = 0
    for year in range(first_year, first_year + years):
        for month in MONTHS:
            out = []
            for code, template in templates:
                counts = [str(int(int(c or 0) * rng.uniform(0.9, 1.1))) if c else "" for c in template[4:]]
                out.append([f"MSitAE-{month}-{year}", code, template[2], template[3], *counts])
            total = [str(sum(int(r[i] or 0) for r in out)) for i in range(4, len(header))]
            out.append(["TOTAL", "TOTAL", "TOTAL", "TOTAL", *total])
            with open(folder / f"Monthly-AE-{month.title()}-{year}.csv", "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                writer.writerows(out)
            written += len(out)
    return written


def metric_catalogue(count: int) -> dict:
    """`count` monthly metrics over the Monthly A&E columns: the catalogue's own A&E metrics
    first, then one count metric per column, then type-1 conversion and booking shares."""
    own = yaml.safe_load((ROOT / "config" / "metrics.yaml").read_text())["metrics"]
    metrics = []
    for metric in own:
        if "monthly_ae" in metric["sources"]:
            metrics.append({**metric, "sources": {"monthly_ae": metric["sources"]["monthly_ae"]}})
    for column in COUNT_COLUMNS:
        metrics.append(
            {
                "id": f"count_{column}",
                "name": f"Monthly A&E: {column.replace('_', ' ')}",
                "domain": "activity",
                "unit": "count",
                "polarity": "neutral",
                "description": f"Sum of the Monthly A&E column {column}.",
                "sources": {"monthly_ae": {"numerator": column}},
            }
        )
    ratios = [
        ("conversion_type1", "emergency_admissions_type1", "attendances_type1"),
        ("conversion_type2", "emergency_admissions_type2", "attendances_type2"),
        ("booked_share_type1", "attendances_booked_type1", "attendances_type1 + attendances_booked_type1"),
        ("booked_share_other", "attendances_booked_other", "attendances_other + attendances_booked_other"),
        ("over_4h_share_other", "over_4h_other", "attendances_other"),
        ("dta_12h_share", "dta_wait_over_12h", "emergency_admissions_type1"),
        ("over_4h_share_type2", "over_4h_type2", "attendances_type2"),
    ]
    for metric_id, numerator, denominator in ratios:
        metrics.append(
            {
                "id": metric_id,
                "name": f"Monthly A&E: {metric_id.replace('_', ' ')}",
                "domain": "access",
                "unit": "proportion",
                "polarity": "lower_is_better" if "over" in metric_id or "dta" in metric_id else "neutral",
                "description": f"{numerator} / ({denominator}).",
                "sources": {"monthly_ae": {"numerator": numerator, "denominator": denominator}},
            }
        )
    if len(metrics) < count:
        raise ValueError(f"the generator defines {len(metrics)} metrics; asked for {count}")
    return {"metrics": metrics[:count]}


def collaborations(scale: Scale, orgs: list[tuple[str, str, list[str]]], metric_ids: list[str]) -> dict:
    """`scale.collaborations` networks, each of 3-5 organisations in one ICB (or spilling into
    the next organisations where an ICB has too few), `scale.waves` waves six months apart
    from January 2022; one network in ten loses a member half-way."""
    rng = random.Random(SEED)
    by_icb: dict[str, list[str]] = {}
    for code, icb, _ in orgs:
        by_icb.setdefault(icb, []).append(code)
    icbs = sorted(by_icb, key=lambda icb: (-len(by_icb[icb]), icb))
    codes = [code for code, _, _ in orgs]
    items = []
    for c in range(scale.collaborations):
        icb = icbs[c % len(icbs)]
        size = rng.randint(3, 5)
        members = by_icb[icb][(c // len(icbs)) % max(1, len(by_icb[icb])) :][:size]
        start = codes.index(members[0]) if members else 0
        for code in codes[start:] + codes[:start]:
            if len(members) >= size:
                break
            if code not in members:
                members.append(code)
        offset = dt.timedelta(days=7 * (c % 4))
        waves = []
        for w in range(scale.waves):
            start_day = dt.date(2022 + w // 2, 1 if w % 2 == 0 else 7, 3) + offset
            waves.append(
                {"wave": w + 1, "fieldwork_start": start_day, "fieldwork_end": start_day + dt.timedelta(days=20)}
            )
        member_rows = [{"org": code, "joined": dt.date(2021, 4, 1)} for code in members]
        if c % 10 == 9:
            member_rows[-1]["left"] = dt.date(2023, 3, 31)
        items.append(
            {
                "id": f"net_{c + 1:03d}",
                "name": f"Generated network {c + 1}",
                "icb": icb,
                "purpose": "A generated network for the national-scale benchmark.",
                "instrument": INSTRUMENT,
                "value_kinds": ["better_access"],
                "targets": [
                    {"metric": metric_ids[0], "direction": "increase"},
                    {"metric": rng.choice(metric_ids[1:]), "direction": "decrease"},
                ],
                "members": member_rows,
                "waves": waves,
            }
        )
    return {"collaborations": items}


def respondents_per_org(scale: Scale, document: dict) -> tuple[int, int]:
    """A range of respondents per member per wave that gives ~respondents_per_wave in all."""
    members = sum(len(c["members"]) for c in document["collaborations"])
    mean = scale.respondents_per_wave / members
    return max(1, round(mean * 0.8)), max(1, round(mean * 1.2))


def generate(output: Path, scale: Scale, seed: int = SEED, progress=print) -> Inputs:
    """Write the input set for `scale` under `output` (config/ and data/); return its size."""
    config, data = output / "config", output / "data"
    for folder in (config, data):
        if folder.exists():
            shutil.rmtree(folder)
    (config / "instruments").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "instruments" / f"{INSTRUMENT}.yaml", config / "instruments")
    spc = yaml.safe_load((ROOT / "config" / "spc.yaml").read_text())
    spc["change_points"] = []  # the generated series has no gap
    (config / "spc.yaml").write_text(yaml.safe_dump(spc, sort_keys=False))
    sources = {name: {"locations": [f"../data/{folder}"]} for name, folder in SOURCE_FOLDERS.items()}
    (config / "layouts").mkdir()
    shutil.copy(AE_LAYOUT, config / "layouts")
    (config / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))

    started = time.perf_counter()
    orgs = organisations(scale)
    write_organisations(data / "organisations", orgs)
    catalogue = metric_catalogue(scale.metrics)
    (config / "metrics.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    ae_rows = write_ae_files(data / "monthly_ae", [(code, row) for code, _, row in orgs], scale.first_year, scale.years)
    progress(f"  {scale.years * 12} Monthly A&E files, {ae_rows:,} rows ({time.perf_counter() - started:.0f} s)")

    document = collaborations(scale, orgs, [m["id"] for m in catalogue["metrics"]])
    (config / "collaborations.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    exports = generate_exports(
        load_collaborations(config / "collaborations.yaml"),
        load_codebooks(config / "instruments"),
        seed,
        sample_org_names(),
        respondents_per_org=respondents_per_org(scale, document),
        low_response={},
    )
    (data / "diagnostic_exports").mkdir(parents=True)
    diagnostic_rows = 0
    for name, content in sorted(exports.items()):
        (data / "diagnostic_exports" / name).write_bytes(content)
        diagnostic_rows += content.count(b"\n") - 1
    progress(f"  {len(exports)} diagnostic exports, {diagnostic_rows:,} rows ({time.perf_counter() - started:.0f} s)")
    files = [p for p in data.rglob("*") if p.is_file()]
    return Inputs(config, data, len(files), sum(p.stat().st_size for p in files), diagnostic_rows, ae_rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    inputs = generate(args.output, Scale.at(args.scale), args.seed)
    print(
        f"{inputs.files} files, {inputs.bytes / 1e6:.1f} MB under {args.output}; "
        f"run with COLLAB_HEALTH_CONFIG_DIR={inputs.config_dir}"
    )


if __name__ == "__main__":
    main()
