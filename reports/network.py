"""The partner network of a collaboration at one wave, as an inline SVG diagram and a one-line reading.

Drawn from the published network marts only, so a withheld rating is never drawn:
- organisations are nodes on a circle (in ODS code order, so the same organisation sits in
  the same place every wave), labelled with their names in proper case;
- an arrow from one organisation to another is a tie: the first organisation's respondents
  work with the second at least in cooperation (collaboration_network_edges.is_tie);
- its width shows the trust the first places in the second (TRUST_WIDTH: 1 px at the
  bottom of the scale to 5 px at the top); its colour the value it sees in it (VALUE_BANDS:
  orange below 2.5, grey from 2.5, blue from 3, "Agree", on the 1-4 scale);
- a tie returned is solid; one not returned is dashed; one whose return rating is withheld
  (fewer than 5 respondents) is dotted, since whether it is returned cannot be shown.

The reading (`reading`) follows fixed rules, first match wins:
1. No published rating: the wave's ratings are all withheld.
2. An organisation that partners rate but none reports a tie with: "... is on the edge: no
   partner reports working closely with it" (the first by name).
3. An organisation that rates its partners' trust at least 0.5 higher than they rate its
   own (trust_gap >= 0.5) and that one or more partners do not rate as trusted: "RAP rates
   others highly but is rated low by two partners" (the largest gap; ties by name).
4. Reciprocity under a half: "Most ties are one-way: ...".
5. Otherwise the density and reciprocity in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from reports.names import proper_case

BLUE, GREY, ORANGE, TEXT, PALE = "#005EB8", "#768692", "#ED8B00", "#212B32", "#E8EDEE"
#: Value bands, lowest first: (from, colour, words). "Agree" (3) is valued on the 1-4 scale.
VALUE_BANDS = ((None, ORANGE, "value below 2.5"), (2.5, GREY, "value 2.5 to 3"), (3.0, BLUE, "value 3 or more"))
#: Tie width in px for trust at the bottom and the top of the partner scale (1-4).
TRUST_WIDTH = (1.0, 5.0)
TRUST_SCALE = (1.0, 4.0)
SIZE = (500, 330)
NODE_RADIUS = 13
FONT_PX = 12
GAP_FOR_READING = 0.5
NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    in_degree: int | None
    trust_given: float | None
    trust_received: float | None
    trust_gap: float | None
    #: Partners with a published trust rating of it, and of those the ones rating it high.
    trust_ratings: int
    trusted_by: int | None


@dataclass(frozen=True)
class Tie:
    source: str
    target: str
    trust: float | None
    value: float | None
    is_reciprocated: bool | None


def _count(n: int) -> str:
    return NUMBER_WORDS.get(n, str(n))


def _plural(n: int, word: str) -> str:
    return f"{_count(n)} {word}{'' if n == 1 else 's'}"


def value_band(value: float | None) -> tuple[str, str]:
    """(colour, words) of a tie's value; grey when the value is withheld."""
    if value is None:
        return GREY, "value withheld"
    colour, words = VALUE_BANDS[0][1:]
    for start, band_colour, band_words in VALUE_BANDS[1:]:
        if value >= start:
            colour, words = band_colour, band_words
    return colour, words


def tie_width(trust: float | None) -> float:
    if trust is None:
        return TRUST_WIDTH[0]
    share = (min(max(trust, TRUST_SCALE[0]), TRUST_SCALE[1]) - TRUST_SCALE[0]) / (TRUST_SCALE[1] - TRUST_SCALE[0])
    return round(TRUST_WIDTH[0] + share * (TRUST_WIDTH[1] - TRUST_WIDTH[0]), 2)


def tie_style(is_reciprocated: bool | None) -> str:
    """solid (returned), dashed (not returned) or dotted (return rating withheld)."""
    return {True: "solid", False: "dashed"}.get(is_reciprocated, "dotted")


def reading(nodes: list[Node], density: float | None, reciprocity: float | None, n_ties: int) -> str:
    """The one-line reading of a wave's network, by the rules in the module docstring."""
    if density is None:
        return "Every rating at this wave is withheld (fewer than 5 respondents), so no tie can be shown."
    isolated = sorted((n for n in nodes if n.in_degree == 0), key=lambda n: n.name)
    if isolated:
        return f"{isolated[0].name} is on the edge: no partner reports working closely with it."
    rated_low = [
        (node, node.trust_ratings - node.trusted_by)
        for node in nodes
        if node.trust_gap is not None
        and node.trust_gap >= GAP_FOR_READING
        and node.trusted_by is not None
        and node.trust_ratings - node.trusted_by >= 1
    ]
    if rated_low:
        node, low = sorted(rated_low, key=lambda pair: (-pair[0].trust_gap, pair[0].name))[0]
        return f"{node.name} rates others highly but is rated low by {_plural(low, 'partner')}."
    share = f"{density:.0%} of the possible ties are in place"
    if reciprocity is not None and reciprocity < 0.5:
        return f"Most ties are one-way: only {reciprocity:.0%} of ties are returned; {share}."
    returned = f", and {reciprocity:.0%} of ties are returned" if reciprocity is not None else ""
    return f"Every partner works closely with at least one other: {share}{returned}."


def _wrap(name: str, width: int = 19) -> list[str]:
    lines: list[str] = []
    for word in name.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _positions(codes: list[str]) -> dict[str, tuple[float, float]]:
    """Nodes on a circle, the first at the top, clockwise; centred on the drawing's middle."""
    cx, cy = SIZE[0] / 2, SIZE[1] / 2 + 4
    radius = min(cx - 150, cy - 60)
    count = len(codes)
    angles = [2 * math.pi * i / count for i in range(count)]
    ys = [-radius * math.cos(angle) for angle in angles]
    middle = (max(ys) + min(ys)) / 2 if ys else 0.0
    return {
        code: (round(cx + radius * math.sin(angle), 2), round(cy + y - middle, 2))
        for code, angle, y in zip(codes, angles, ys, strict=True)
    }


def _arrow(tie: Tie, start: tuple[float, float], end: tuple[float, float]) -> str:
    """A tie as a line from node to node (offset to its right, so the tie back runs beside
    it) with an arrowhead at the organisation rated."""
    (x1, y1), (x2, y2) = start, end
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    ox, oy = -uy * 4.5, ux * 4.5  # to the right of the direction of travel
    width = tie_width(tie.trust)
    colour, _ = value_band(tie.value)
    head = 9 + width
    sx, sy = x1 + ux * (NODE_RADIUS + 2) + ox, y1 + uy * (NODE_RADIUS + 2) + oy
    tx, ty = x2 - ux * (NODE_RADIUS + 2) + ox, y2 - uy * (NODE_RADIUS + 2) + oy
    bx, by = tx - ux * head, ty - uy * head
    dash = {"solid": "", "dashed": ' stroke-dasharray="7 4"', "dotted": ' stroke-dasharray="1.5 3.5"'}[
        tie_style(tie.is_reciprocated)
    ]
    half = 3 + width / 2
    points = f"{tx:.1f},{ty:.1f} {bx - uy * half:.1f},{by + ux * half:.1f} {bx + uy * half:.1f},{by - ux * half:.1f}"
    return (
        f'<g class="tie" data-from="{escape(tie.source)}" data-to="{escape(tie.target)}" '
        f'data-style="{tie_style(tie.is_reciprocated)}" data-width="{width}" data-colour="{colour}">'
        f'<line x1="{sx:.1f}" y1="{sy:.1f}" x2="{bx:.1f}" y2="{by:.1f}" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linecap="butt"{dash}/>'
        f'<polygon points="{points}" fill="{colour}"/></g>'
    )


def _label(node: Node, x: float, y: float) -> tuple[str, float, float]:
    """The node's name as wrapped lines beside it, and the label's top and bottom."""
    cx, cy = SIZE[0] / 2, SIZE[1] / 2 + 4
    lines = _wrap(node.name)
    if abs(x - cx) < 1:
        anchor, lx = "middle", x
        ly = y - NODE_RADIUS - 6 - (len(lines) - 1) * FONT_PX if y < cy else y + NODE_RADIUS + FONT_PX + 2
    else:
        anchor = "start" if x > cx else "end"
        lx = x + (NODE_RADIUS + 6) * (1 if x > cx else -1)
        ly = y - (len(lines) - 1) * FONT_PX / 2 + FONT_PX / 3
    spans = "".join(
        f'<tspan x="{lx:.1f}" dy="{0 if i == 0 else FONT_PX}">{escape(line)}</tspan>' for i, line in enumerate(lines)
    )
    text = f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="{FONT_PX}" fill="{TEXT}">{spans}</text>'
    # The label's extent: from the first line's ascent to the last line's descent.
    return text, ly - FONT_PX, ly + (len(lines) - 1) * FONT_PX + FONT_PX / 3


def diagram(nodes: list[Node], ties: list[Tie], title: str, description: str, element_id: str) -> str:
    """The network as an inline SVG (no script, no external reference)."""
    positions = _positions([node.code for node in nodes])
    arrows = "".join(
        _arrow(tie, positions[tie.source], positions[tie.target])
        for tie in sorted(ties, key=lambda t: (t.source, t.target))
        if tie.source in positions and tie.target in positions
    )
    circles, tops, bottoms = [], [], []
    for node in nodes:
        x, y = positions[node.code]
        label, top, bottom = _label(node, x, y)
        circles.append(
            f'<g class="organisation" data-organisation="{escape(node.code)}">'
            f'<circle cx="{x}" cy="{y}" r="{NODE_RADIUS}" fill="#fff" stroke="{BLUE}" stroke-width="2.5"/>'
            f"{label}</g>"
        )
        tops += [top, y - NODE_RADIUS]
        bottoms += [bottom, y + NODE_RADIUS]
    # Only as tall as the drawing: a triangle of three needs less height than a square.
    top = math.floor(min(tops, default=0) - 6)
    height = math.ceil(max(bottoms, default=SIZE[1]) + 6) - top
    return (
        f'<svg id="{escape(element_id)}" class="network" role="img" aria-label="{escape(title)}" '
        f'viewBox="0 {top} {SIZE[0]} {height}" width="{SIZE[0]}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="Arial, Helvetica, sans-serif">'
        f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
        f'<rect y="{top}" width="{SIZE[0]}" height="{height}" fill="#fff"/>{arrows}{"".join(circles)}</svg>'
    )


def legend() -> str:
    """The key to every diagram on a page, as one small inline SVG."""
    items = []
    x = 0
    for trust in (1.0, 2.5, 4.0):
        items.append(
            f'<line x1="{x}" y1="12" x2="{x + 28}" y2="12" stroke="{TEXT}" stroke-width="{tie_width(trust)}"/>'
            f'<text x="{x + 34}" y="16" font-size="{FONT_PX}" fill="{TEXT}">trust {trust:g}</text>'
        )
        x += 92
    for _, colour, words in VALUE_BANDS:
        items.append(
            f'<line x1="{x}" y1="12" x2="{x + 28}" y2="12" stroke="{colour}" stroke-width="3"/>'
            f'<text x="{x + 34}" y="16" font-size="{FONT_PX}" fill="{TEXT}">{escape(words)}</text>'
        )
        x += 140
    styles = [("solid", "", "returned"), ("dashed", "7 4", "not returned"), ("dotted", "1.5 3.5", "return withheld")]
    row = []
    x2 = 0
    for _, dash, words in styles:
        dashes = f' stroke-dasharray="{dash}"' if dash else ""
        row.append(
            f'<line x1="{x2}" y1="36" x2="{x2 + 28}" y2="36" stroke="{TEXT}" stroke-width="2"{dashes}/>'
            f'<text x="{x2 + 34}" y="40" font-size="{FONT_PX}" fill="{TEXT}">{escape(words)}</text>'
        )
        x2 += 150
    label = (
        "Key: an arrow is a tie (works with the other at least in cooperation); width shows trust, "
        "colour shows value; solid: returned, dashed: not returned, dotted: the return rating is withheld."
    )
    return (
        f'<svg class="network-key" role="img" aria-label="{escape(label)}" viewBox="0 0 {x} 48" width="{x}" '
        f'height="48" xmlns="http://www.w3.org/2000/svg" font-family="Arial, Helvetica, sans-serif">'
        f"<title>{escape(label)}</title>{''.join(items)}{''.join(row)}</svg>"
    )


def _number(value) -> float | None:
    return None if value is None else float(value)


STYLE_WORDS = {"solid": "returned", "dashed": "not returned", "dotted": "return withheld"}


def _tie_words(tie: Tie, names: dict[str, str]) -> str:
    trust = f"trust {tie.trust:.2f}" if tie.trust is not None else "trust withheld"
    return (
        f"{names[tie.source]} to {names[tie.target]} ({trust}, {value_band(tie.value)[1]}, "
        f"{STYLE_WORDS[tie_style(tie.is_reciprocated)]})"
    )


def wave_networks(db, collaboration_id: str, waves: list[dict]) -> list[dict]:
    """Each wave's network of a collaboration, from the published marts: the diagram, its
    reading and its figures (an empty list when the collaboration has no partner ratings).
    `db` is a DuckDB connection; `waves` the collaboration's rows of marts.dim_waves."""

    def rows(sql: str, parameters: list) -> list[dict]:
        cursor = db.execute(sql, parameters)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    fieldwork = {w["wave"]: w["fieldwork_end"] for w in waves}
    networks = []
    for network in rows(
        "select * from marts.collaboration_network where collaboration_id = ? order by wave", [collaboration_id]
    ):
        wave = network["wave"]
        organisations = rows(
            "select o.*, coalesce(d.org_name, o.organisation_code) as org_name, "
            "(select count(e.trust) from marts.collaboration_network_edges as e where e.collaboration_id = "
            "o.collaboration_id and e.wave = o.wave and e.to_organisation = o.organisation_code) as trust_ratings "
            "from marts.collaboration_network_by_organisation as o "
            "left join marts.dim_organisations as d on o.organisation_code = d.org_code "
            "where o.collaboration_id = ? and o.wave = ? order by o.organisation_code",
            [collaboration_id, wave],
        )
        nodes = [
            Node(
                o["organisation_code"],
                proper_case(o["org_name"]),
                o["in_degree"],
                _number(o["trust_given"]),
                _number(o["trust_received"]),
                _number(o["trust_gap"]),
                o["trust_ratings"],
                o["in_degree_trusted"],
            )
            for o in organisations
        ]
        ties = [
            Tie(
                e["from_organisation"],
                e["to_organisation"],
                _number(e["trust"]),
                _number(e["value"]),
                e["is_reciprocated"],
            )
            for e in rows(
                "select * from marts.collaboration_network_edges where collaboration_id = ? and wave = ? and is_tie "
                "order by from_organisation, to_organisation",
                [collaboration_id, wave],
            )
        ]
        names = {node.code: node.name for node in nodes}
        when = f" ({fieldwork[wave]:%B %Y})" if fieldwork.get(wave) else ""
        title = f"Partner network at wave {wave}{when}"
        heading = f"Wave {wave}{when}"
        withheld = sum(o["is_suppressed"] for o in organisations)
        if network["density"] is None:
            summary = f"{len(nodes)} organisations; every rating withheld."
        else:
            summary = (
                f"{len(nodes)} organisations; {network['n_ties']} of {network['n_possible_ties']} possible ties "
                f"(density {network['density']:.0%})"
                + (f", {network['reciprocity']:.0%} returned" if network["reciprocity"] is not None else "")
                + (f"; mean trust {network['mean_trust']:.2f}" if network["mean_trust"] is not None else "")
                + (f", mean value {network['mean_value']:.2f}" if network["mean_value"] is not None else "")
                + "."
            )
        if withheld:
            summary += f" Ratings given by {_plural(withheld, 'organisation')} withheld (fewer than 5 respondents)."
        tie_words = "; ".join(_tie_words(tie, names) for tie in ties)
        description = f"{summary} Ties: {tie_words or 'none'}."
        networks.append(
            {
                **network,
                "title": title,
                "heading": heading,
                "summary": summary,
                "reading": reading(nodes, network["density"], network["reciprocity"], network["n_ties"]),
                "svg": diagram(nodes, ties, title, description, f"network-wave-{wave}-diagram"),
                "n_drawn": len(ties),
            }
        )
    return networks
