"""Charts for the reports, drawn with matplotlib and embedded as inline SVG.

An SPC chart in the Making Data Count style: the values joined by a line, the mean, the
process limits, special-cause points marked by colour *and* shape (improvement: blue
up-triangle; concern: orange down-triangle; neither-good-nor-bad: purple diamond), the
target as a red dashed line inside the axis, and the diagnostic waves' fieldwork shaded and
labelled. Fonts are drawn as paths, so the SVG needs nothing from outside the file. The
figure is FIGURE_WIDTH_PX wide at 100% zoom, so its smallest text (MIN_FONT_PT) is at least
11 px there.

Drawing is most of a report build's time, and most charts are the same from one night to the
next: a ChartCache keeps each SVG under a hash of everything it is drawn from (the chart's
arguments, this module's code, matplotlib's version, settings and font), so an unchanged
chart is read back, byte for byte what drawing it again would give.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import os
import re
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

#: Making Data Count colours (NHS blue and orange, purple for neutral), text and grey.
IMPROVEMENT, CONCERN, NEUTRAL, COMMON, TEXT = "#005EB8", "#ED8B00", "#7C2855", "#768692", "#212B32"
TARGET = "#D5281B"
#: Chart size in inches (SVG points are 1/72 inch, CSS pixels 1/96): 8.4 in = 806 px wide.
FIGURE_SIZE = (8.4, 2.55)
FIGURE_WIDTH_PX = round(FIGURE_SIZE[0] * 96)
#: The smallest text on a chart, in points: 8.5 pt = 11.3 px at 100% zoom.
MIN_FONT_PT = 8.5
MARKER_LABELS = {
    "improvement": "special-cause improvement",
    "concern": "special-cause concern",
    "special_cause_neutral": "special cause (neither)",
}
MARKERS = {"improvement": ("^", IMPROVEMENT), "concern": ("v", CONCERN), "special_cause_neutral": ("D", NEUTRAL)}

matplotlib.rcParams.update(
    {
        "svg.fonttype": "path",
        "svg.hashsalt": "collab-health",  # stable element ids: the same data gives the same SVG
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "xtick.labelsize": MIN_FONT_PT,
        "ytick.labelsize": MIN_FONT_PT,
        "legend.fontsize": MIN_FONT_PT,
        "axes.edgecolor": COMMON,
        "axes.labelcolor": TEXT,
        "xtick.color": TEXT,
        "ytick.color": TEXT,
    }
)


@dataclass(frozen=True)
class Point:
    month: dt.date
    value: float
    mean: float | None
    lower: float | None
    upper: float | None
    signal: str | None


@dataclass(frozen=True)
class Window:
    label: str
    start: dt.date
    end: dt.date


@functools.cache
def drawing_version() -> str:
    """What a cached chart depends on besides its arguments: the drawing code (this file, with
    its colours), matplotlib's version, the settings in force (this file's rcParams and any
    matplotlibrc) and the font file drawn with."""
    from matplotlib import font_manager

    settings = repr(sorted((key, repr(value)) for key, value in matplotlib.rcParams.items()))
    font = font_manager.findfont(matplotlib.rcParams["font.family"][0])
    parts = [Path(__file__).read_bytes(), matplotlib.__version__.encode(), settings.encode(), font.encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


@dataclass(frozen=True)
class ChartCache:
    """SVGs already drawn, one file each in `folder`, named by the hash of what they were
    drawn from. Safe for worker processes (each file is written aside, then renamed)."""

    folder: Path

    def svg(self, inputs: tuple, draw: Callable[[], str]) -> str:
        """The chart drawn from `inputs` (a tuple with an exact repr): read back if drawn
        before, else drawn now and kept."""
        key = hashlib.sha256(repr((drawing_version(), inputs)).encode()).hexdigest()
        path = self.folder / f"{key}.svg"
        try:
            svg = path.read_text(encoding="utf-8")
        except (FileNotFoundError, UnicodeDecodeError):
            svg = ""
        if svg.startswith("<svg") and svg.endswith("</svg>\n"):  # not a file cut short
            with suppress(OSError):  # a folder this process may read but not touch: drawn again next time
                os.utime(path)  # used by this build: kept by prune()
            return svg
        svg = draw()
        self.folder.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{key}.{os.getpid()}.writing")
        staging.write_text(svg, encoding="utf-8")
        os.replace(staging, path)
        return svg

    def prune(self, started: float) -> int:
        """Delete the charts no build used since `started` (a time.time()), and files a killed
        writer left; returns how many."""
        removed = 0
        for path in [*self.folder.glob("*.svg"), *self.folder.glob(".*.writing")]:
            if path.stat().st_mtime < started:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def build_started() -> float:
    """A build's start as ChartCache.prune takes it: a second early, since file times come
    from a coarser clock than time.time()."""
    return time.time() - 1.0


def _svg(figure: plt.Figure, title: str, description: str) -> str:
    buffer = io.StringIO()
    # Fixed margins, not bbox_inches="tight": that draws every figure twice (half the cost).
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype: it is inline HTML
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    accessible = f'<svg role="img" aria-label="{escape(title)}"'
    return svg.replace("<svg", accessible, 1).replace(
        ">", f"><title>{escape(title)}</title><desc>{escape(description)}</desc>", 1
    )


def y_limits(points: list[Point], target: float | None) -> tuple[float, float]:
    """The value axis: every value, every limit and the target, with room above for the wave labels."""
    shown = [p.value for p in points] + [v for p in points for v in (p.lower, p.upper) if v is not None]
    shown += [target] if target is not None else []
    low, high = min(shown), max(shown)
    pad = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
    return low - pad, high + pad * 3.5


def spc_chart(
    points: list[Point],
    windows: list[Window],
    title: str,
    value_format: str,
    description: str,
    target: float | None = None,
    target_label: str = "Target",
    element_ids: str = "chart",
    cache: ChartCache | None = None,
) -> str:
    """An XmR chart as inline SVG, with `description` as its alt text and `target` as a line
    (the plot area and the target line carry ids starting with `element_ids`); read from
    `cache` when drawn before from the same inputs."""
    inputs = (points, windows, title, value_format, description, target, target_label, element_ids)
    if cache is not None:
        return cache.svg(inputs, lambda: _spc_chart(*inputs))
    return _spc_chart(*inputs)


def _spc_chart(
    points: list[Point],
    windows: list[Window],
    title: str,
    value_format: str,
    description: str,
    target: float | None,
    target_label: str,
    element_ids: str,
) -> str:
    figure, axes = plt.subplots(figsize=FIGURE_SIZE, dpi=100)
    months = [p.month for p in points]
    # A gap of more than a month in the data breaks the lines instead of bridging it.
    broken = [
        i > 0 and (p.month.year - points[i - 1].month.year) * 12 + p.month.month - points[i - 1].month.month > 1
        for i, p in enumerate(points)
    ]

    def line(values: list[float | None]) -> tuple[list, list]:
        xs, ys = [], []
        for month, value, gap in zip(months, values, broken, strict=True):
            if gap:
                xs.append(month)
                ys.append(float("nan"))
            xs.append(month)
            ys.append(float("nan") if value is None else value)
        return xs, ys

    axes.plot(*line([p.value for p in points]), color=COMMON, linewidth=1.2, marker="o", markersize=3, zorder=2)
    for name, style, label in (("mean", "-", "mean"), ("lower", "--", "process limits"), ("upper", "--", None)):
        values = [getattr(p, name) for p in points]
        if any(v is not None for v in values):
            axes.plot(*line(values), color=TEXT, linestyle=style, linewidth=0.9, zorder=1, label=label)
    if target is not None:
        axes.axhline(
            target,
            color=TARGET,
            linestyle=(0, (5, 3)),
            linewidth=1.4,
            zorder=1,
            label=target_label,
            gid=f"{element_ids}-target-line",
        )
    for signal, (marker, colour) in MARKERS.items():
        chosen = [p for p in points if p.signal == signal]
        if chosen:
            axes.scatter(
                [p.month for p in chosen],
                [p.value for p in chosen],
                marker=marker,
                s=42,
                color=colour,
                zorder=3,
                label=MARKER_LABELS[signal],
            )
    axes.set_ylim(*y_limits(points, target))
    axes.patch.set_gid(f"{element_ids}-plot-area")  # the browser tests find the axis and the target line by these
    for window in windows:
        axes.axvspan(window.start, window.end, color=IMPROVEMENT, alpha=0.10, zorder=0)
        axes.annotate(
            window.label,
            (window.start, 0.99),
            xycoords=("data", "axes fraction"),
            fontsize=MIN_FONT_PT,
            color=TEXT,
            va="top",
        )
    axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: format(v, value_format)))
    span = (months[-1].year - months[0].year) * 12 + months[-1].month - months[0].month + 1
    axes.xaxis.set_major_locator(mdates.MonthLocator(interval=max(1, -(-span // 9))))
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %Y"))
    axes.spines[["top", "right"]].set_visible(False)
    # The legend sits under the axis, clear of the data.
    if axes.get_legend_handles_labels()[0]:
        figure.legend(loc="lower center", frameon=False, ncol=7, handlelength=1.8, columnspacing=1.2)
    figure.subplots_adjust(left=0.085, right=0.99, top=0.97, bottom=0.26)
    return _svg(figure, title, description)
