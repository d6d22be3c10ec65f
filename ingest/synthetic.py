"""Deterministic generator of synthetic diagnostic exports for the demo collaborations.

No public respondent-level diagnostic data exists, so the sample exports are made here:
one CSV per collaboration and wave, from the collaborations file and an instrument
codebook, with the mess real survey tools produce (label case and spacing, "Don't know",
N/A, blanks, a byte-order mark, a Windows-1252 file, a trailing space in a header, a
duplicate submission, a blank row, a free-text column, organisations given by name).

Where the codebook has a partner section, each respondent also rates every partner on the
survey's roster (every member the collaboration ever had, so a stale roster lists a partner
that has left): one column per partner and item, partners named by name or by ODS code,
or for the collaborations in LONG_PARTNER_FILES a long file of their own
(`<collaboration>_wave<n>_partners.csv`). In each network one organisation drifts to the
edge over the waves (DRIFTING, else the last member): its partners rate it lower wave
after wave, while it rates them highly. Partner ratings come from a random stream of their
own, so the characteristic answers are the same with or without them.

The same seed always gives byte-identical files. The respondents are invented; the
member organisations are real trust codes. Run ``python -m ingest.synthetic`` to rebuild
the committed sample in ``sample_data/diagnostic_exports``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import itertools
import random
from pathlib import Path

from ingest.codebook import Codebook, PartnerSection, load_codebooks
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


#: Collaborations whose partner ratings come in a long file (one row per respondent and
#: partner) beside the export, rather than as columns of it.
LONG_PARTNER_FILES = frozenset({"nel_uec"})
#: The organisation of a collaboration that drifts to the edge of its network over the waves
#: (default: its last member).
DRIFTING = {"ncl_acute": "RAP"}
#: A long partner file's columns after the respondent fields (the codebook's `long` matches).
LONG_PARTNER_HEADERS = ("Partner",)


class _Network:
    """A collaboration's partner relationships, and each respondent's ratings of them.

    Latent closeness (0-4), trust and value (on the partner scale) for every ordered pair of
    the roster; the drifting organisation is rated lower at each wave and rates others
    highly. Its own random stream: the characteristic answers do not depend on it."""

    def __init__(self, collaboration_id: str, roster: list[str], section: PartnerSection, seed: int):
        self.rng = random.Random(f"{seed}:partners:{collaboration_id}")
        self.section = section
        self.roster = roster
        self.drifter = DRIFTING.get(collaboration_id, roster[-1])
        self.latent = {
            pair: (self.rng.uniform(1.8, 3.4), self.rng.uniform(2.6, 3.5), self.rng.uniform(2.5, 3.4))
            for pair in itertools.permutations(roster, 2)
        }
        self.labels = {
            "closeness": {v: k for k, v in reversed(section.closeness_scale.labels.items())},
            "rating": {v: k for k, v in reversed(section.scale.labels.items())},
        }

    def _answer(self, latent: float, scale: str, low: int, high: int) -> str:
        roll = self.rng.random()
        if roll < 0.04:
            return self.rng.choice(["Don't know", "don't know "])
        value = min(high, max(low, round(self.rng.gauss(latent, 0.55))))
        if roll < 0.08:
            return str(value)
        return _label_variant(self.rng, self.labels[scale][value])

    def ratings(self, rater: str, partner: str, w_index: int) -> list[str]:
        """One respondent's answers to the partner items about `partner` (blank when skipped)."""
        items = self.section.items
        if partner == rater and self.rng.random() < 0.8:
            return [""] * len(items)  # most leave their own organisation blank; the rest are ignored
        if self.rng.random() < 0.08:
            return [""] * len(items)  # skipped this partner
        closeness, trust, value = self.latent.get((rater, partner), (4.0, 3.8, 3.6))
        if partner == self.drifter:
            closeness, trust, value = closeness - 0.9 * w_index, trust - 0.5 * w_index, value - 0.45 * w_index
        if rater == self.drifter:
            closeness, trust, value = closeness + 0.3, trust + 0.3, value + 0.2
        shift = self.rng.gauss(0, 0.3)
        scale = self.section.scale
        answers = []
        for item in items:
            if item.dimension == "closeness":
                answers.append(self._answer(closeness, "closeness", 0, 4))
            else:
                latent = (trust if item.dimension == "trust" else value) + shift
                answers.append(self._answer(latent, "rating", scale.min, scale.max))
        return answers


def partner_headers(section: PartnerSection, partners: list[str], names: dict[str, str], by_name: bool) -> list[str]:
    """Wide columns: each partner item about each partner, as a survey tool exports a matrix
    question ("PT1. This partner does what it says it will do. [Barts Health Nhs Trust]")."""
    shown = [names[p].title() if by_name and p in names else p for p in partners]
    return [f"{item.id}. {item.text} [{partner}]" for partner in shown for item in section.items]


def long_partner_headers(codebook: Codebook) -> list[str]:
    fields = codebook.fields
    return [
        fields["respondent_id"].header,
        fields["submitted_at"].header,
        fields["organisation"].header,
        fields["role_group"].header,
        fields["collaboration"].header,
        fields["wave"].header,
        *LONG_PARTNER_HEADERS,
        *[f"{item.id}. {item.text}" for item in codebook.partners.items],
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
        roster = [m.org for m in collab.members]
        network = _Network(collab.id, roster, codebook.partners, seed) if codebook.partners else None
        long_partners = network is not None and collab.id in LONG_PARTNER_FILES
        if network is not None and not long_partners:
            wide = partner_headers(codebook.partners, roster, org_names, by_name=c_index % 2 == 1)
            headers = [*headers[:-1], *wide, headers[-1]]
        last_item = 5 + len(codebook.items)
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
            partner_rows = []
            own_rated = False
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
                if network is not None:
                    rated = [(partner, network.ratings(org, partner, w_index)) for partner in roster]
                    if long_partners:
                        # A long file lists the partners rated; one row a file rates the
                        # respondent's own organisation (quarantined by the reader).
                        for partner, answers in rated:
                            if any(answers) and (partner != org or not own_rated):
                                own_rated = own_rated or partner == org
                                partner_rows.append((when, [*row[:6], partner, *answers]))
                    else:
                        row += [answer for _, answers in rated for answer in answers]
                row.append(rng.choice(COMMENTS) if rng.random() < 0.3 else "")
                records.append((when, row))
            if c_index == 0 and w_index == 0:
                # The same person submitted twice: the earlier submission, which also has a
                # typo in its last item, must be superseded by the later one.
                when, row = records[0]
                earlier = when - dt.timedelta(hours=2)
                duplicate = [*row]
                duplicate[1], duplicate[last_item] = earlier.strftime("%d/%m/%Y %H:%M"), "Agreee"
                records.append((when + dt.timedelta(days=1), row))
                records[0] = (earlier, duplicate)
            records.sort(key=lambda r: r[0])
            rows = [r for _, r in records]
            if c_index == 0 and w_index == 0:
                rows.insert(len(rows) // 2, [""] * len(headers))  # a blank row
            name = f"{collab.id}_wave{wave.wave}.csv"
            files[name] = _encode(headers, rows, c_index, w_index)
            if partner_rows:
                partner_rows.sort(key=lambda r: r[0])
                files[f"{collab.id}_wave{wave.wave}_partners.csv"] = _encode(
                    long_partner_headers(codebook), [r for _, r in partner_rows], c_index, w_index
                )
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
