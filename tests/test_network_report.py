"""The network diagram and its one-line reading (reports/network.py), on small hand-made inputs."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import duckdb
import pytest

from reports.network import Node, Tie, diagram, legend, reading, tie_style, tie_width, value_band, wave_networks

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"


def node(code, in_degree=1, gap=0.0, trust_ratings=2, trusted_by=2, name=None) -> Node:
    return Node(code, name or f"Trust {code}", in_degree, 3.0, 3.0 - gap, gap, trust_ratings, trusted_by)


def test_width_by_trust_colour_by_value_and_dashes_by_return():
    assert [tie_width(t) for t in (1.0, 2.5, 4.0, 0.2, None)] == [1.0, 3.0, 5.0, 1.0, 1.0]
    assert [value_band(v)[1] for v in (2.49, 2.5, 2.99, 3.0, 4.0)] == [
        "value below 2.5",
        "value 2.5 to 3",
        "value 2.5 to 3",
        "value 3 or more",
        "value 3 or more",
    ]
    assert value_band(None) == ("#768692", "value withheld")
    assert [tie_style(r) for r in (True, False, None)] == ["solid", "dashed", "dotted"]


def test_reading_rules_in_order():
    assert reading([node("A")], None, None, 0).startswith("Every rating at this wave is withheld")
    # An organisation no partner ties to is on the edge, before any rating gap.
    nodes = [node("A", in_degree=0, gap=0.9, trusted_by=0), node("B", gap=0.8, trusted_by=0)]
    assert reading(nodes, 0.5, 1.0, 2) == "Trust A is on the edge: no partner reports working closely with it."
    # The largest trust gap of 0.5 or more with partners not trusting it.
    nodes = [node("A", gap=0.6, trusted_by=1), node("B", gap=0.9, trusted_by=0), node("C", gap=1.2, trusted_by=2)]
    assert reading(nodes, 1.0, 1.0, 6) == "Trust B rates others highly but is rated low by two partners."
    assert reading([node("A", gap=0.5, trusted_by=1)], 1.0, 1.0, 6).endswith("rated low by one partner.")
    # Otherwise density and reciprocity in words.
    calm = [node("A", gap=0.49, trusted_by=0), node("B")]
    assert (
        reading(calm, 0.5, 0.4, 3)
        == "Most ties are one-way: only 40% of ties are returned; 50% of the possible ties are in place."
    )
    assert reading(calm, 0.8333, 0.8, 5) == (
        "Every partner works closely with at least one other: 83% of the possible ties are in place, "
        "and 80% of ties are returned."
    )


def test_diagram_is_self_contained_svg_drawing_exactly_the_ties_given():
    nodes = [node("RAL", name="Royal Free London NHS Foundation Trust"), node("RAP"), node("RKE")]
    ties = [Tie("RAL", "RAP", 4.0, 3.2, True), Tie("RAP", "RAL", 1.0, 2.0, True), Tie("RKE", "RAL", 2.5, None, None)]
    svg = diagram(nodes, ties, "Partner network at wave 1", "A <test> & description", "w1")
    root = ET.fromstring(svg)  # well-formed XML
    assert root.get("role") == "img" and root.get("aria-label") == "Partner network at wave 1"
    assert root.find(f"{SVG}desc").text == "A <test> & description"
    drawn = [
        (g.get("data-from"), g.get("data-to"), g.get("data-style"), g.get("data-width"), g.get("data-colour"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "tie"
    ]
    assert drawn == [
        ("RAL", "RAP", "solid", "5.0", "#005EB8"),
        ("RAP", "RAL", "solid", "1.0", "#ED8B00"),
        ("RKE", "RAL", "dotted", "3.0", "#768692"),
    ]
    labels = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert labels[0] == "Royal Free LondonNHS FoundationTrust"  # wrapped over lines, in order
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "") and "href" not in svg
    ET.fromstring(legend())


def test_wave_networks_draw_only_published_ties_with_proper_case_names():
    """Wave 1: R1H -> RF4 a tie returned; RF4 -> R1H a tie; RQX's ratings are withheld (no
    tie drawn from it), and R1H -> RQX is a tie whose return is withheld (dotted). Wave 2:
    every rating withheld."""
    db = duckdb.connect()
    db.execute("create schema marts")
    db.execute(
        "create table marts.collaboration_network as select * from (values "
        "('net', 1, 3, 2, 4, 3, 2.0, 0.75, 1.0, 0.25, 3.1, 2.9), "
        "('net', 2, 3, 0, 0, 0, 2.0, null, null, null, null, null)) as t(collaboration_id, wave, n_organisations, "
        "n_rating_organisations, n_possible_ties, n_ties, tie_closeness, density, reciprocity, "
        "degree_centralisation, mean_trust, mean_value)"
    )
    db.execute(
        "create table marts.collaboration_network_edges as select * from (values "
        "('net', 1, 'R1H', 'RF4', 6, 3.0, 3.5, 3.2, true, true, false), "
        "('net', 1, 'R1H', 'RQX', 6, 2.5, 2.0, 2.0, true, null, false), "
        "('net', 1, 'RF4', 'R1H', 5, 2.0, 2.0, 2.4, true, true, false), "
        "('net', 1, 'RF4', 'RQX', 5, 1.0, 3.0, 3.0, false, null, false), "
        "('net', 1, 'RQX', 'R1H', 3, null, null, null, null, null, true), "
        "('net', 1, 'RQX', 'RF4', 3, null, null, null, null, null, true)) as t(collaboration_id, wave, "
        "from_organisation, to_organisation, n_respondents, closeness, trust, value, is_tie, is_reciprocated, "
        "is_suppressed)"
    )
    db.execute(
        "create table marts.collaboration_network_by_organisation as select * from (values "
        "('net', 1, 'R1H', 6, 1, 2, 0, 2.0, 2.75, -0.75, false), "
        "('net', 1, 'RF4', 5, 1, 1, 1, 3.5, 2.5, -1.0, false), "
        "('net', 1, 'RQX', 3, 1, null, 1, 2.5, null, null, true), "
        "('net', 2, 'R1H', 2, null, null, null, null, null, null, true)) as t(collaboration_id, wave, "
        "organisation_code, n_respondents, in_degree, out_degree, in_degree_trusted, trust_received, trust_given, "
        "trust_gap, is_suppressed)"
    )
    db.execute(
        "create table marts.dim_organisations as select * from (values ('R1H', 'BARTS HEALTH NHS TRUST'), "
        "('RF4', 'BARKING, HAVERING AND REDBRIDGE UNIVERSITY HOSPITALS NHS TRUST'), "
        "('RQX', 'HOMERTON HEALTHCARE NHS FOUNDATION TRUST')) as t(org_code, org_name)"
    )
    waves = [{"wave": 1, "fieldwork_end": dt.date(2024, 8, 30)}, {"wave": 2, "fieldwork_end": dt.date(2024, 11, 29)}]
    first, second = wave_networks(db, "net", waves)
    assert (first["title"], first["heading"]) == ("Partner network at wave 1 (August 2024)", "Wave 1 (August 2024)")
    root = ET.fromstring(first["svg"])
    drawn = {
        (g.get("data-from"), g.get("data-to"), g.get("data-style"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "tie"
    }
    assert drawn == {("R1H", "RF4", "solid"), ("R1H", "RQX", "dotted"), ("RF4", "R1H", "solid")}
    names = {
        g.get("data-organisation"): " ".join(span.text for span in g.iter(f"{SVG}tspan"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "organisation"
    }
    assert names == {
        "R1H": "Barts Health NHS Trust",
        "RF4": "Barking, Havering and Redbridge University Hospitals NHS Trust",
        "RQX": "Homerton Healthcare NHS Foundation Trust",
    }
    assert "BARTS" not in first["svg"]
    assert (
        first["reading"]
        == "Every partner works closely with at least one other: 75% of the possible ties are in place, and 100% of ties are returned."
    )
    assert first["summary"].endswith("Ratings given by one organisation withheld (fewer than 5 respondents).")
    assert (
        "Barts Health NHS Trust to Homerton Healthcare NHS Foundation Trust (trust 2.00, value below 2.5, return withheld)"
        in root.find(f"{SVG}desc").text
    )
    assert second["n_drawn"] == 0 and second["reading"].startswith("Every rating at this wave is withheld")
