"""The network marts (issue 20) built by dbt on a small warehouse written here, with every
expected figure worked by hand.

Collaboration `hand`: five member trusts, A (R1H), B (RF4), C (RQX), D (RAL), E (RAP), each
with five respondents, who all rate every partner. Closeness (0 none .. 4 integration) is
the same for an organisation's five respondents, except A -> E (2, 2, 2, 1, 3: mean 2.0,
exactly the tie threshold, so a tie) and E -> D (2, 2, 2, 1, 2: mean 1.8, no tie). A tie
is closeness 2 (cooperation) or more. Wave 1's ties:

    A -> B, B -> A, B -> C, C -> B, C -> D, D -> C, E -> C, A -> E          (8 ties)

    density      8 ties / 20 ordered pairs rated                      = 0.4
    reciprocity  6 returned (A-B, B-C, C-D both ways) / 8             = 0.75
    in-degrees   A 1, B 2, C 3, D 1, E 1; largest 3
    degree centralisation (3-1)+(3-2)+0+(3-1)+(3-1) = 7 / (5-1)^2     = 0.4375
    betweenness (shortest paths along ties; sigma = number of them)
      E: A reaches C by A-B-C or A-E-C (2 paths; E on 1) and D by A-B-C-D or A-E-C-D
         (2 paths; E on 1): 1/2 + 1/2 = 1; normalised 1 / ((5-1)(5-2)) = 0.0833
      C: A-D (both paths), B-D, D-B, D-A, D-E, E-B, E-D, E-A: 8 -> 0.6667
      B: A-C and A-D (1/2 each), C-A, C-E, D-A, D-E, E-A: 6 -> 0.5
      A: B-E, C-E, D-E: 3 -> 0.25;  D: on no shortest path: 0
      (check: the five sum to 18 = sum over reachable pairs of their distance - 1)

Trust (PT1-PT3) and value (PV1-PV3) are each answered alike by a respondent and by an
organisation's five respondents (TRUST and VALUE below): an edge's trust is that number.
Mean trust over the 20 edges 52 / 20 = 2.6; mean value 49 / 20 = 2.45.
Trust given / received (the others' ratings of it) and gap, high = 3 ("Agree") or more:
    A  3.00 / 2.75  +0.25   trusted by B, E (2)    valued by B (1)
    B  2.75 / 2.75   0.00   trusted by A, C (2)    valued by A, C (2)
    C  2.25 / 3.25  -1.00   trusted by A, B, D, E  valued by B, D, E (3)
    D  2.50 / 2.25  +0.25   trusted by C (1)       valued by C (1)
    E  2.50 / 2.00  +0.50   trusted by A (1)       valued by A (1)

Wave 2 is wave 1 but E -> C falls to awareness (no tie): 7 ties, density 0.35 (change
-0.05); reciprocity 6 / 7 = 0.8571 (change +0.1071); in-degrees A 1, B 2, C 2, D 1, E 1:
(1 + 0 + 0 + 1 + 1) / 16 = 0.1875 (change -0.25); trust and value unchanged (change 0).

Collaboration `small` (the suppression test): R1H and RF4 with five respondents each and
S = RQX with three. S's ratings are withheld, and every published figure must be the same
whatever S's three respondents say: `small_kind` and `small_harsh` differ only in them.
`shrinks_kind` and `shrinks_harsh` are the same at a second wave, after a first at which S
had five respondents (published), so the changes since the last wave are tested too.
"""

from __future__ import annotations

import itertools
import os
import random
import subprocess
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import CODEBOOK_DIR

from ingest.codebook import load_codebook
from ingest.collaborations import CollaborationsFile, collaboration_tables
from ingest.partner_ratings import PARTNER_RATINGS_SCHEMA, partner_items_table
from orchestration.dbt import DBT_EXECUTABLE, dbt_project

pytestmark = pytest.mark.integration

A, B, C, D, E = "R1H", "RF4", "RQX", "RAL", "RAP"
NAMES = dict(zip("ABCDE", (A, B, C, D, E), strict=True))
MARTS = ("collaboration_network", "collaboration_network_by_organisation", "collaboration_network_edges")
#: (from, to): (closeness of each of the five respondents, trust, value)
HAND = {
    ("A", "B"): ([3] * 5, 4, 3),
    ("A", "C"): ([1] * 5, 3, 2),
    ("A", "D"): ([0] * 5, 2, 2),
    ("A", "E"): ([2, 2, 2, 1, 3], 3, 3),
    ("B", "A"): ([3] * 5, 4, 4),
    ("B", "C"): ([4] * 5, 3, 3),
    ("B", "D"): ([1] * 5, 2, 1),
    ("B", "E"): ([1] * 5, 2, 2),
    ("C", "A"): ([1] * 5, 2, 2),
    ("C", "B"): ([3] * 5, 3, 4),
    ("C", "D"): ([2] * 5, 3, 3),
    ("C", "E"): ([0] * 5, 1, 1),
    ("D", "A"): ([0] * 5, 2, 2),
    ("D", "B"): ([1] * 5, 2, 2),
    ("D", "C"): ([3] * 5, 4, 4),
    ("D", "E"): ([1] * 5, 2, 2),
    ("E", "A"): ([1] * 5, 3, 2),
    ("E", "B"): ([1] * 5, 2, 2),
    ("E", "C"): ([2] * 5, 3, 3),
    ("E", "D"): ([2, 2, 2, 1, 2], 2, 2),
}
ITEMS = {"closeness": ["PC"], "trust": ["PT1", "PT2", "PT3"], "value": ["PV1", "PV2", "PV3"]}


def collaboration(cid: str, members: list[str], waves: int) -> dict:
    return {
        "id": cid,
        "name": cid,
        "icb": "QMF",
        "purpose": "Test the network marts by hand.",
        "instrument": "collab_health_core",
        "members": [{"org": m, "joined": "2023-04-01"} for m in members],
        "waves": [
            {"wave": w, "fieldwork_start": f"2024-0{2 * w}-05", "fieldwork_end": f"2024-0{2 * w}-28"}
            for w in range(1, waves + 1)
        ],
    }


def rating_rows(cid: str, wave: int, edges: dict[tuple[str, str], tuple[list[int], int, int]]) -> list[dict]:
    rows = []
    for (rater, rated), (closeness, trust, value) in edges.items():
        for n, close in enumerate(closeness):
            for item, answer in (
                [("PC", close)] + [(i, trust) for i in ITEMS["trust"]] + [(i, value) for i in ITEMS["value"]]
            ):
                rows.append(
                    {
                        "instrument_id": "collab_health_core",
                        "collaboration_id": cid,
                        "wave": wave,
                        "respondent_key": f"{cid}-{wave}-{rater}-{n}".ljust(32, "0"),
                        "organisation_code": rater,
                        "partner_code": rated,
                        "item_id": item,
                        "dimension": next(d for d, items in ITEMS.items() if item in items),
                        "answer_value": answer,
                        "layout": "wide",
                    }
                )
    return rows


def hand_edges(wave: int) -> dict:
    edges = {(NAMES[f], NAMES[t]): rating for (f, t), rating in HAND.items()}
    if wave == 2:
        edges[(E, C)] = ([1] * 5, 3, 3)
    return edges


def small_edges(s_ratings: tuple[int, int, int]) -> dict:
    """R1H and RF4 rate each other and S as below (five respondents each); S (RQX) has three."""
    close, trust, value = s_ratings
    return {
        (A, B): ([3] * 5, 4, 3),
        (B, A): ([1] * 5, 2, 2),
        (A, C): ([3] * 5, 3, 3),
        (B, C): ([2] * 5, 2, 2),
        (C, A): ([close] * 3, trust, value),
        (C, B): ([close] * 3, trust, value),
    }


def write_warehouse(path: Path, collaborations: list[dict], ratings: list[dict]) -> None:
    config = collaboration_tables(CollaborationsFile.model_validate({"collaborations": collaborations}))
    tables = {
        "diagnostic_partner_ratings": pl.DataFrame(
            [{**r, "submitted_at": None, "source_file": "x.csv", "source_row": i} for i, r in enumerate(ratings)],
            schema=PARTNER_RATINGS_SCHEMA,
        ),
        "instrument_partner_items": partner_items_table([load_codebook(CODEBOOK_DIR / "collab_health_core.yaml")]),
        "collaboration_members": config["collaboration_members"],
        "collaboration_waves": config["collaboration_waves"],
    }
    with duckdb.connect(str(path)) as db:
        db.execute("create schema clean")
        for name, frame in tables.items():
            db.register("incoming", frame.to_arrow())
            db.execute(f"create table clean.{name} as select * from incoming")
            db.unregister("incoming")


def build_network_marts(warehouse: Path, target: Path) -> None:
    selection = [f"+{mart}" for mart in MARTS]
    done = subprocess.run(
        [
            DBT_EXECUTABLE,
            "build",
            "--select",
            *selection,
            "--exclude",
            "resource_type:unit_test",
            "--indirect-selection",
            "cautious",
            "--target-path",
            str(target),
        ],
        cwd=dbt_project().project_dir,
        env={**os.environ, "COLLAB_HEALTH_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    # The marts' contracts and data tests ran, the privacy and path-length tests among them.
    for test in ("assert_network_paths_complete", "assert_network_withheld_ratings_not_published"):
        assert f"PASS {test}" in done.stdout, done.stdout[-4000:]


def random_edges(seed: int, members: list[str]) -> dict:
    """Each organisation rates each other: a tie (closeness 3) with probability 0.4, else 1."""
    rng = random.Random(seed)
    return {(f, t): ([3 if rng.random() < 0.4 else 1] * 5, 3, 3) for f, t in itertools.permutations(members, 2)}


RANDOM_MEMBERS = ["RAJ", "RAL", "RAN", "RAP", "RAS", "RAX", "RBD"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """One warehouse with every test collaboration; `small` twice, as `small_kind` and
    `small_harsh`: the same but for what S's three respondents say."""
    root = tmp_path_factory.mktemp("network")
    collaborations = [
        collaboration("hand", [A, B, C, D, E], waves=2),
        collaboration("small_kind", [A, B, C], waves=1),
        collaboration("small_harsh", [A, B, C], waves=1),
        collaboration("shrinks_kind", [A, B, C], waves=2),
        collaboration("shrinks_harsh", [A, B, C], waves=2),
        *[collaboration(f"random{k}", RANDOM_MEMBERS, waves=1) for k in range(3)],
    ]
    ratings = rating_rows("hand", 1, hand_edges(1)) + rating_rows("hand", 2, hand_edges(2))
    ratings += rating_rows("small_kind", 1, small_edges((4, 4, 4)))
    ratings += rating_rows("small_harsh", 1, small_edges((0, 1, 1)))
    # Wave 1: S has five respondents (published, alike in both); wave 2: three, who differ.
    for cid, s_ratings in (("shrinks_kind", (4, 4, 4)), ("shrinks_harsh", (0, 1, 1))):
        ratings += rating_rows(cid, 1, {pair: ([2] * 5, 3, 3) for pair in itertools.permutations([A, B, C], 2)})
        ratings += rating_rows(cid, 2, small_edges(s_ratings))
    for k in range(3):
        ratings += rating_rows(f"random{k}", 1, random_edges(k, RANDOM_MEMBERS))
    warehouse = root / "network.duckdb"
    write_warehouse(warehouse, collaborations, ratings)
    build_network_marts(warehouse, root / "target")
    return warehouse


def query(warehouse: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as db:
        return db.execute(sql, parameters or []).fetchall()


def test_density_reciprocity_centralisation_and_means_by_hand(built):
    rows = query(
        built,
        "select wave, n_organisations, n_rating_organisations, n_possible_ties, n_ties, tie_closeness, density, "
        "reciprocity, degree_centralisation, mean_trust, mean_value, density_change, reciprocity_change, "
        "degree_centralisation_change, mean_trust_change, mean_value_change "
        "from marts.collaboration_network where collaboration_id = 'hand' order by wave",
    )
    assert rows == [
        (1, 5, 5, 20, 8, 2.0, 0.4, 0.75, 0.4375, 2.6, 2.45, None, None, None, None, None),
        (2, 5, 5, 20, 7, 2.0, 0.35, 0.8571, 0.1875, 2.6, 2.45, -0.05, 0.1071, -0.25, 0.0, 0.0),
    ]


def test_betweenness_degrees_and_rating_gaps_by_hand(built):
    rows = query(
        built,
        "select organisation_code, n_respondents, in_degree, out_degree, in_degree_trusted, in_degree_valued, "
        "trust_given, trust_received, trust_gap, betweenness, betweenness_normalised "
        "from marts.collaboration_network_by_organisation where collaboration_id = 'hand' and wave = 1 "
        "order by organisation_code",
    )
    by_code = {row[0]: row[1:] for row in rows}
    assert by_code == {
        A: (5, 1, 2, 2, 1, 3.0, 2.75, 0.25, 3.0, 0.25),
        B: (5, 2, 2, 2, 2, 2.75, 2.75, 0.0, 6.0, 0.5),
        C: (5, 3, 2, 4, 3, 2.25, 3.25, -1.0, 8.0, 0.6667),
        D: (5, 1, 1, 1, 1, 2.5, 2.25, 0.25, 0.0, 0.0),
        E: (5, 1, 1, 1, 1, 2.5, 2.0, 0.5, 1.0, 0.0833),
    }
    edges = query(
        built,
        "select from_organisation, to_organisation, closeness, is_tie, is_reciprocated "
        "from marts.collaboration_network_edges where collaboration_id = 'hand' and wave = 1 and "
        "from_organisation in (?, ?) order by 1, 2",
        [A, E],
    )
    assert sorted(edges) == sorted(
        [
            (A, B, 3.0, True, True),
            (A, C, 1.0, False, None),
            (A, D, 0.0, False, None),
            (A, E, 2.0, True, False),  # exactly at the threshold: a tie, not returned (E -> A is 1)
            (E, A, 1.0, False, None),
            (E, B, 1.0, False, None),
            (E, C, 2.0, True, False),  # C -> E is 0
            (E, D, 1.8, False, None),  # 2, 2, 2, 1, 2: below the threshold
        ]
    )


def test_betweenness_and_density_agree_with_networkx(built):
    """Three random networks of seven organisations: the SQL breadth-first search gives
    networkx's betweenness (directed, unnormalised and normalised) and density."""
    import networkx as nx

    for k in range(3):
        graph = nx.DiGraph()
        graph.add_nodes_from(RANDOM_MEMBERS)
        graph.add_edges_from(
            pair for pair, (closeness, _, _) in random_edges(k, RANDOM_MEMBERS).items() if closeness[0] >= 2
        )
        expected = nx.betweenness_centrality(graph, normalized=False)
        normalised = nx.betweenness_centrality(graph, normalized=True)
        got = query(
            built,
            "select organisation_code, betweenness, betweenness_normalised "
            "from marts.collaboration_network_by_organisation where collaboration_id = ?",
            [f"random{k}"],
        )
        assert {code: b for code, b, _ in got} == {code: round(v, 4) for code, v in expected.items()}, k
        assert {code: b for code, _, b in got} == {code: round(v, 4) for code, v in normalised.items()}, k
        density = query(
            built, "select density from marts.collaboration_network where collaboration_id = ?", [f"random{k}"]
        )
        assert density == [(round(nx.density(graph), 4),)]
    assert any(v not in (0, 1) and v != int(v) for v in expected.values())  # some path counts were shared


def test_a_small_organisations_ratings_cannot_be_recovered(built):
    """S (RQX) has three respondents: its edges are suppressed with every rating null, its own
    figures are withheld, a tie to S says nothing of S's return rating, and no published
    figure in any of the three marts changes when S's respondents rate kindly or harshly."""
    for mart in MARTS:
        kind, harsh = (
            query(
                built,
                f"select * exclude (collaboration_id) from marts.{mart} where collaboration_id = ? order by all",
                [cid],
            )
            for cid in ("small_kind", "small_harsh")
        )
        assert kind and kind == harsh, mart
    edges = query(
        built,
        "select from_organisation, to_organisation, n_respondents, closeness, trust, value, is_tie, "
        "is_reciprocated, is_suppressed from marts.collaboration_network_edges where collaboration_id = 'small_kind' "
        "order by 1, 2",
    )
    assert edges == [
        (A, B, 5, 3.0, 4.0, 3.0, True, False, False),
        (A, C, 5, 3.0, 3.0, 3.0, True, None, False),  # returned or not: S's rating is withheld
        (B, A, 5, 1.0, 2.0, 2.0, False, None, False),
        (B, C, 5, 2.0, 2.0, 2.0, True, None, False),
        (C, A, 3, None, None, None, None, None, True),
        (C, B, 3, None, None, None, None, None, True),
    ]
    organisation = query(
        built,
        "select n_respondents, out_degree, trust_given, value_given, trust_gap, value_gap, in_degree, "
        "trust_received, is_suppressed from marts.collaboration_network_by_organisation "
        "where collaboration_id = 'small_kind' and organisation_code = ?",
        [C],
    )
    assert organisation == [(3, None, None, None, None, None, 2, 2.5, True)]
    # Only the four published ratings count: 3 ties of 4; 0 of the 1 tie with a published return.
    network = query(
        built,
        "select n_rating_organisations, n_possible_ties, n_ties, density, reciprocity, mean_trust "
        "from marts.collaboration_network where collaboration_id = 'small_kind'",
    )
    assert network == [(2, 4, 3, 0.75, 0.0, 2.75)]


def test_a_small_organisations_ratings_cannot_be_recovered_from_the_change_since_the_last_wave(built):
    """S (RQX) is published at wave 1 (five respondents) and withheld at wave 2 (three): every
    figure of both waves, the changes since wave 1 among them, is the same whatever S's three
    respondents say, and the changes count only what is published at both waves."""
    for mart in MARTS:
        kind, harsh = (
            query(
                built,
                f"select * exclude (collaboration_id) from marts.{mart} where collaboration_id = ? order by all",
                [cid],
            )
            for cid in ("shrinks_kind", "shrinks_harsh")
        )
        assert kind and kind == harsh, mart
    # Wave 1: all six pairs at closeness 2 and trust 3 (6 ties); wave 2 as `small_kind`.
    network = query(
        built,
        "select wave, n_possible_ties, n_ties, density, mean_trust, density_change, mean_trust_change "
        "from marts.collaboration_network where collaboration_id = 'shrinks_kind' order by wave",
    )
    assert network == [(1, 6, 6, 1.0, 3.0, None, None), (2, 4, 3, 0.75, 2.75, -0.25, -0.25)]
