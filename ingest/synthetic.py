"""Deterministic generator of synthetic diagnostic exports for the demo collaborations.

No public respondent-level diagnostic data exists, so the sample exports are made here:
one CSV per collaboration and wave, from the collaborations file and an instrument
codebook, with the mess real survey tools produce (label case and spacing, "Don't know",
N/A, blanks, a byte-order mark, a Windows-1252 file, a trailing space in a header, a
duplicate submission, a blank row, a free-text column, organisations given by name).

The same seed always gives byte-identical files. The respondents are invented; the
member organisations are real trust codes. Run ``python -m ingest.synthetic`` to rebuild
the committed sample in ``sample_data/diagnostic_exports``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import random
from pathlib import Path

from ingest.codebook import Codebook, load_codebooks
from ingest.collaborations import CollaborationsFile, load_collaborations
from ingest.organisations import read_organisations

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CODEBOOKS = PROJECT_ROOT / "config" / "instruments"
DEFAULT_ORGANISATIONS = PROJECT_ROOT / "sample_data" / "reference" / "organisations"
DEFAULT_COLLABORATIONS = PROJECT_ROOT / "config" / "collaborations.yaml"
DEFAULT_OUTPUT = PROJECT_ROOT / "sample_data" / "diagnostic_exports"
SEED = 20240801

#: Respondents per member organisation per wave; a (collaboration, wave) listed in
#: LOW_RESPONSE gets that many in total, to show small-group suppression.
RESPONDENTS_PER_ORG = (6, 11)
LOW_RESPONSE = {("ncl_frailty", 2): 4, ("sel_uec", 3): 4}
COMMENTS = (
    "Meetings are better chaired than last year.",
    "We still do not see each other's data.",
    "Too many boards.",
    "Good progress on discharge.",
)


def _label_variant(rng: random.Random, label: str) -> str:
    """A label as a respondent's survey tool might write it."""
    roll = rng.random()
    if roll < 0.08:
        return label.upper()
    if roll < 0.16:
        return label.lower() + " "
    if roll < 0.20:
        return "  " + label
    return label


def _answer(rng: random.Random, codebook: Codebook, latent: float, reverse: bool) -> str:
    roll = rng.random()
    if roll < 0.03:
        return rng.choice(["Don't know", "don't know ", "DON'T KNOW"])
    if roll < 0.04:
        return "N/A"
    if roll < 0.06:
        return ""
    low, high = codebook.scale.min, codebook.scale.max
    value = min(high, max(low, round(rng.gauss(latent, 0.55))))
    if reverse:
        value = low + high - value
    if roll < 0.09:
        return str(value)
    labels = {v: k for k, v in codebook.scale.labels.items()}
    return _label_variant(rng, labels[value])


def _organisation_as_given(rng: random.Random, code: str, names: dict[str, str]) -> str:
    roll = rng.random()
    if roll < 0.1:
        return code.lower()
    if roll < 0.2 and code in names:
        return names[code].title().replace(" And ", " & ")
    return code


def export_headers(codebook: Codebook) -> list[str]:
    """A header row an export of this instrument could have (every field needs a `header`)."""
    fields = codebook.fields
    return [
        fields["respondent_id"].header,
        fields["submitted_at"].header,
        fields["organisation"].header + " ",  # trailing space, as some tools write it
        fields["role_group"].header if "role_group" in fields else "Role",
        fields["collaboration"].header,
        fields["wave"].header,
        *[item.header or f"{item.id}. {item.text}" for item in codebook.items],
        "Any other comments",
    ]


def generate_exports(
    collaborations: CollaborationsFile,
    codebooks: list[Codebook],
    seed: int = SEED,
    org_names: dict[str, str] | None = None,
    respondents_per_org: tuple[int, int] = RESPONDENTS_PER_ORG,
    low_response: dict[tuple[str, int], int] | None = None,
) -> dict[str, bytes]:
    """File name -> file bytes for every collaboration and wave.

    With `org_names` (ODS code -> name), some respondents give their organisation's name
    instead of its code, as survey tools with a free "organisation" box produce. Each member
    organisation has between `respondents_per_org` respondents a wave, except in the
    (collaboration, wave) pairs of `low_response` (default LOW_RESPONSE), which get that many
    in total.
    """
    org_names = org_names or {}
    low_response = LOW_RESPONSE if low_response is None else low_response
    rng = random.Random(seed)
    by_id = {codebook.instrument_id: codebook for codebook in codebooks}
    files: dict[str, bytes] = {}
    for c_index, collab in enumerate(collaborations.collaborations):
        codebook = by_id[collab.instrument]
        headers = export_headers(codebook)
        characteristic_ids = list(codebook.characteristics)
        base = {cid: rng.uniform(2.5, 4.2) for cid in characteristic_ids}
        org_offset = {m.org: {cid: rng.gauss(0, 0.35) for cid in characteristic_ids} for m in collab.members}
        # Each person answers once per collaboration: a pool big enough for every wave.
        pool_size = max(40, len(collab.waves) * respondents_per_org[1])
        people = {
            m.org: [f"{collab.id[:3].upper()}{c_index}{m.org}{n:03d}" for n in range(pool_size)] for m in collab.members
        }
        for w_index, wave in enumerate(collab.waves):
            lift = {cid: w_index * rng.uniform(-0.1, 0.35) for cid in characteristic_ids}
            target_total = low_response.get((collab.id, wave.wave))
            plan: list[str] = []
            # Only organisations that were members during the wave's fieldwork respond.
            members = [
                m
                for m in collab.members
                if m.joined <= wave.fieldwork_end and (m.left is None or m.left >= wave.fieldwork_start)
            ]
            for m_index, member in enumerate(members):
                if target_total is None:
                    count = rng.randint(*respondents_per_org)
                else:
                    count = target_total // len(members) + (m_index < target_total % len(members))
                plan += [member.org] * count
            span = (wave.fieldwork_end - wave.fieldwork_start).days
            records = []
            for org in plan:
                person = people[org].pop(rng.randrange(len(people[org])))
                when = dt.datetime.combine(wave.fieldwork_start, dt.time(8)) + dt.timedelta(
                    days=rng.randint(0, span), minutes=rng.randint(0, 600)
                )
                row = [
                    person,
                    when.strftime("%d/%m/%Y %H:%M"),
                    _organisation_as_given(rng, org, org_names),
                    rng.choice(codebook.role_groups) if rng.random() > 0.05 else "Other (please specify)",
                    collab.id,
                    str(wave.wave),
                ]
                person_shift = rng.gauss(0, 0.4)
                for item in codebook.items:
                    latent = base[item.characteristic] + org_offset[org][item.characteristic]
                    latent += lift[item.characteristic] + person_shift
                    row.append(_answer(rng, codebook, latent, item.reverse))
                row.append(rng.choice(COMMENTS) if rng.random() < 0.3 else "")
                records.append((when, row))
            if c_index == 0 and w_index == 0:
                # The same person submitted twice: the earlier submission, which also has a
                # typo in its last item, must be superseded by the later one.
                when, row = records[0]
                earlier = when - dt.timedelta(hours=2)
                duplicate = [row[0], earlier.strftime("%d/%m/%Y %H:%M"), *row[2:-2], "Agreee", row[-1]]
                records.append((when + dt.timedelta(days=1), row))
                records[0] = (earlier, duplicate)
            records.sort(key=lambda r: r[0])
            rows = [r for _, r in records]
            if c_index == 0 and w_index == 0:
                rows.insert(len(rows) // 2, [""] * len(headers))  # a blank row
            name = f"{collab.id}_wave{wave.wave}.csv"
            files[name] = _encode(headers, rows, c_index, w_index)
    return files


def _encode(headers: list[str], rows: list[list[str]], c_index: int, w_index: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    text = buffer.getvalue()
    if (c_index, w_index) == (1, 1):
        # Windows-1252, with the curly apostrophe Excel likes.
        return text.replace("Don't know", "Don\u2019t know").encode("cp1252")
    if w_index == 0:
        return text.encode("utf-8-sig")  # with a byte-order mark
    return text.encode("utf-8")


def sample_org_names() -> dict[str, str]:
    organisations = read_organisations(DEFAULT_ORGANISATIONS)
    return dict(organisations.select("org_code", "org_name").iter_rows())


def write_exports(output: Path, collaborations: Path, codebooks: Path, seed: int = SEED) -> list[Path]:
    output.mkdir(parents=True, exist_ok=True)
    files = generate_exports(load_collaborations(collaborations), load_codebooks(codebooks), seed, sample_org_names())
    written = []
    for name, content in sorted(files.items()):
        path = output / name
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--collaborations", type=Path, default=DEFAULT_COLLABORATIONS)
    parser.add_argument("--codebooks", type=Path, default=DEFAULT_CODEBOOKS, help="folder of instrument codebooks")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in write_exports(args.output, args.collaborations, args.codebooks, args.seed):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
