"""Plain-English readings of a measure's SPC chart, from the warehouse's SPC columns.

The warehouse (marts.system_metrics) classifies every point (`spc_signal`), names the
rules that fired (`spc_rules`) and judges assurance against the metric's standard
(`spc_assurance`); marts.outcome_linked_collaboration gives the verdict over the months
after each wave (`spc_signal_since_wave`). This module only reads them:
- the variation icon is the latest point's signal; its side (H or L) is the side of the
  rules that fired (above, up, high: H; below, down, low: L), or for a point where both
  sides fired, the side that is a concern given the polarity;
- the sentence under a chart describes the months after the latest wave (the same months
  as the verdict): the longest run the rules found there, a point beyond a limit, a trend
  or two of three points close to a limit;
- assurance is the warehouse's where the target shown is the metric's standard; against a
  collaboration's own target it is the same rule on the latest limits (`assurance`).
"""

from __future__ import annotations

import datetime as dt

HIGH_RULES = ("above_upper_limit", "shift_above", "trend_up", "two_of_three_high")
LOW_RULES = ("below_lower_limit", "shift_below", "trend_down", "two_of_three_low")
VERDICT_WORDS = {
    "improvement": "special cause improvement",
    "concern": "special cause concern",
    "mixed": "both special cause improvement and concern",
    "special_cause_neutral": "special cause variation (neither improvement nor concern for this measure)",
    "common_cause": "common-cause variation only",
}


def rules_of(point: dict) -> set[str]:
    return set((point.get("spc_rules") or "").split(",")) - {""}


def side(point: dict, polarity: str | None) -> str | None:
    """H, L or None: which side of the mean the latest point's special cause is on."""
    rules = rules_of(point)
    high, low = bool(rules & set(HIGH_RULES)), bool(rules & set(LOW_RULES))
    if high and low:
        if point.get("spc_signal") == "concern":
            return "L" if polarity == "higher_is_better" else "H"
        return "H" if point["value"] >= (point.get("spc_mean") or point["value"]) else "L"
    return "H" if high else "L" if low else None


def assurance(polarity: str | None, lower: float | None, upper: float | None, target: float | None) -> str | None:
    """The warehouse's assurance rule: a target outside the limits is consistently passed or failed."""
    if lower is None or upper is None or target is None or polarity not in ("higher_is_better", "lower_is_better"):
        return None
    passing_side, failing_side = (lower > target, upper < target)
    if polarity == "lower_is_better":
        passing_side, failing_side = upper < target, lower > target
    return "consistently_pass" if passing_side else "consistently_fail" if failing_side else "hit_and_miss"


def _month(day: dt.date) -> str:
    return f"{day:%B %Y}"


def _runs(points: list[dict], rule: str) -> list[list[dict]]:
    """Runs of consecutive points where `rule` fired."""
    runs, current = [], []
    for point in points:
        if rule in rules_of(point):
            current.append(point)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def _phrases(series: list[dict], after: list[dict], signal: str) -> list[str]:
    """What the rules found in the months `after` the wave, for points classed `signal`."""
    flagged = [p for p in after if p.get("spc_signal") == signal]
    if not flagged:
        return []
    last = series[-1]["period_month"]
    found: list[str] = []
    for rule, words in (("shift_below", "below the mean"), ("shift_above", "above the mean")):
        runs = [run for run in _runs(series, rule) if any(p in flagged for p in run)]
        if runs:
            run = max(runs, key=len)
            if run[-1]["period_month"] == last:
                found.append(f"the last {len(run)} months were {words}")
            else:
                found.append(f"{len(run)} months in a row to {_month(run[-1]['period_month'])} were {words}")
    for rule, words in (("below_lower_limit", "below the lower"), ("above_upper_limit", "above the upper")):
        months = [p["period_month"] for p in flagged if rule in rules_of(p)]
        if months:
            which = _month(months[0]) if len(months) == 1 else f"{len(months)} months"
            found.append(f"{which} {'was' if len(months) == 1 else 'were'} {words} process limit")
    for rule, words in (("trend_down", "fell"), ("trend_up", "rose")):
        runs = [run for run in _runs(series, rule) if any(p in flagged for p in run)]
        if runs:
            found.append(f"it {words} for {len(max(runs, key=len))} months in a row")
    for rule, words in (("two_of_three_low", "lower"), ("two_of_three_high", "upper")):
        if not found and any(rule in rules_of(p) for p in flagged):
            found.append(f"two of three months were close to the {words} limit")
    return found


def chart_sentence(
    metric_name: str, wave: int | None, series: list[dict], after: list[dict], verdict: str | None
) -> str:
    """One sentence on what SPC says about the months after the latest wave."""
    if wave is None:
        return "No diagnostic wave yet: the chart shows the measure's history."
    since = f"Since wave {wave}"
    if not after:
        return f"{since}, no month of {metric_name} has been published yet."
    if verdict is None:
        return f"{since}, there are too few months for SPC limits (12 points or fewer), so SPC gives no verdict yet."
    if verdict == "common_cause":
        return (
            f"{since}, {metric_name} has shown {VERDICT_WORDS[verdict]}: all {len(after)} months were within the "
            "process limits, with no run, trend or cluster near a limit."
        )
    signals = ("improvement", "concern") if verdict == "mixed" else (verdict,)
    found = [phrase for signal in signals for phrase in _phrases(series, after, signal)]
    detail = f": {'; '.join(found)}" if found else ""
    return f"{since}, {metric_name} has shown {VERDICT_WORDS[verdict]}{detail}."


def latest_sentence(series: list[dict], after: list[dict], said: str = "") -> str | None:
    """What the latest month shows (the variation icon), where it is later than the months after
    the wave and not already `said`."""
    last = series[-1] if series else None
    if last is None or last in after or last.get("spc_signal") in (None, "common_cause"):
        return None
    everything = _phrases(series, [last], last["spc_signal"])
    found = [phrase for phrase in everything if phrase not in said]
    if everything and not found:
        return None
    detail = f": {'; '.join(found)}" if found else ""
    return f"The latest month, {_month(last['period_month'])}, shows {VERDICT_WORDS[last['spc_signal']]}{detail}."


def disagreement(target: dict, formatted_mean: str | None) -> str | None:
    """Why the before/after comparison and the SPC verdict can both be true, where they differ."""
    improved, verdict = target.get("is_improvement"), target.get("spc_signal_since_wave")
    if improved is None or verdict not in ("improvement", "concern", "mixed"):
        return None
    if verdict == "mixed":
        reading = "SPC found months both better and worse than the process's usual level"
    elif improved and verdict == "concern":
        reading = "yet SPC finds months worse than the process's usual level"
    elif not improved and verdict == "improvement":
        reading = "yet SPC finds months better than the process's usual level"
    else:
        return None
    level = f" (its mean, {formatted_mean})" if formatted_mean else ""
    moved = "moved the wanted way" if improved else "did not move the wanted way"
    return (
        f"Why both can be true: the before/after comparison sets the {target['followup_months']} months after "
        f"wave {target['wave']} against the {target['baseline_months']} months before, and the measure {moved}; "
        f"{reading}{level}. Before/after compares two short periods (seasons move it); SPC judges each month "
        "against the chart's whole history and its usual month-to-month variation."
    )


def assurance_sentence(assured: str | None, target_words: str | None, limits: tuple[str, str] | None) -> str:
    """What the assurance icon says, in words (`target_words` e.g. "the collaboration's target of 95.0%")."""
    if target_words is None:
        return "No target is set for this measure, so there is no assurance icon."
    if assured is None or limits is None:
        return f"Too few points for process limits, so no assurance against {target_words} yet."
    lo, hi = limits
    return {
        "consistently_pass": f"Against {target_words}, the process limits ({lo} to {hi}) lie wholly on the passing "
        "side: it will consistently meet the target unless the process changes.",
        "consistently_fail": f"Against {target_words}, the process limits ({lo} to {hi}) lie wholly on the failing "
        "side: it will consistently miss the target unless the process changes.",
        "hit_and_miss": f"{target_words[0].upper()}{target_words[1:]} lies within the process limits ({lo} to {hi}): "
        "some months will meet it and some will miss it.",
    }[assured]
