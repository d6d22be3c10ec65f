"""Variation and assurance icons in the Making Data Count manner, drawn here as inline SVG.

Our own drawing of the conventions boards know (not NHS England's artwork):
- variation: a ring and a short run of points; grey for common cause, blue for special-cause
  improvement, orange for concern, purple for special cause that is neither; special cause
  carries H (the points are high) or L (low), and its last points step up or down;
- assurance: a ring with a dashed target line; blue P when the process limits lie on the
  passing side of the target (it will consistently pass), orange F when they lie on the
  failing side (consistently fail), grey ? when the target is inside them (hit and miss).
Every icon is an image with its meaning as its accessible name and tooltip.
"""

from __future__ import annotations

from html import escape

BLUE, ORANGE, GREY, PURPLE = "#005EB8", "#ED8B00", "#768692", "#7C2855"
VARIATION = {
    "improvement": (BLUE, "Special cause improvement"),
    "concern": (ORANGE, "Special cause concern"),
    "special_cause_neutral": (PURPLE, "Special cause, neither improvement nor concern"),
    "common_cause": (GREY, "Common cause variation"),
}
ASSURANCE = {
    "consistently_pass": (BLUE, "P", "The process will consistently pass the target"),
    "consistently_fail": (ORANGE, "F", "The process will consistently fail the target"),
    "hit_and_miss": (GREY, "?", "The process will hit and miss the target"),
}
SIDE_WORDS = {"H": "high", "L": "low"}


def _svg(kind: str, colour: str, label: str, body: str) -> str:
    return (
        f'<svg class="mdc-icon {kind}" data-icon="{escape(kind)}" role="img" aria-label="{escape(label)}" '
        f'width="44" height="44" viewBox="0 0 44 44" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>"
        f'<circle cx="22" cy="22" r="19" fill="#fff" stroke="{colour}" stroke-width="3"/>{body}</svg>'
    )


def variation_icon(signal: str | None, side: str | None) -> str:
    """The variation icon of a measure's latest point (`side`: "H", "L" or None)."""
    if signal not in VARIATION:
        return ""
    colour, words = VARIATION[signal]
    special = signal != "common_cause" and side in SIDE_WORDS
    xs = [10, 14, 18, 22, 26, 30, 34]
    if special:
        step = -5 if side == "H" else 5
        ys = [29, 28, 30, 29, 29 + step, 29 + step, 29 + step]
        colours = [GREY] * 4 + [colour] * 3
        letter_y = 18 if side == "H" else 20
        letter = f'<text x="22" y="{letter_y}" text-anchor="middle" font-family="Arial, sans-serif" font-size="13" font-weight="bold" fill="{colour}">{side}</text>'
        label = f"Variation: {words.lower()}, {SIDE_WORDS[side]} values"
    else:
        ys = [24, 21, 25, 22, 24, 21, 23]
        colours = [colour] * 7
        letter = ""
        label = f"Variation: {words.lower()}"
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="2.1" fill="{c}"/>' for x, y, c in zip(xs, ys, colours, strict=True))
    line = " ".join(f"{x},{y}" for x, y in zip(xs, ys, strict=True))
    body = f'<polyline points="{line}" fill="none" stroke="{GREY}" stroke-width="1"/>{dots}{letter}'
    return _svg("variation-" + signal.replace("_", "-"), colour, label, body)


def assurance_icon(assurance: str | None) -> str:
    """The assurance icon of a measure against its target ('' without a target or limits)."""
    if assurance not in ASSURANCE:
        return ""
    colour, letter, words = ASSURANCE[assurance]
    body = (
        f'<text x="22" y="24" text-anchor="middle" font-family="Arial, sans-serif" font-size="16" '
        f'font-weight="bold" fill="{colour}">{letter}</text>'
        f'<line x1="9" y1="31" x2="35" y2="31" stroke="#D5281B" stroke-width="2" stroke-dasharray="3 2"/>'
    )
    return _svg("assurance-" + assurance.replace("_", "-"), colour, f"Assurance: {words.lower()}", body)
