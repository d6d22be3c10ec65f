"""The headline of a collaboration's page and its row in the index, by stated rules.

Everything here is read from the marts (through the page context build.py assembles); no
respondent's words ever reach a report. The rules, in the order a page shows them, each
linking to the section that supports it:

1. Overall health (#scorecard): the band of the overall score (the mean of the wave's
   unsuppressed characteristic scores, outcome_linked_collaboration.health_score) at the
   latest wave that can be reported, banded as the characteristics are, and its change
   since the previous wave with an overall score. If the latest wave with responses is
   withheld (every group under 5), the statement says so first.
2. Characteristics (#scorecard): how many are in concern, the two weakest (lowest score;
   ties by name) and the strongest (highest score; ties by name); suppressed ones are
   never named with a score.
3. Targets (#targets), at the latest wave: target values met and not met (target_met),
   and how many target measures moved the wanted way (is_improvement); those that did not
   are named.
4. SPC since the last wave (#measures): each target measure's verdict over the months
   after the latest wave (spc_signal_since_wave); measures with special cause are named.
5. Data warnings (#warnings): the latest wave withheld; characteristics withheld;
   organisations whose own scores are withheld (perception gap); a provisional window (fewer
   than 3 months, or a yearly measure's follow-up year unpublished); membership changed (a
   like-for-like comparison on fewer organisations); marts.data_warnings' messages;
   and any flag in OPTIONAL_WARNING_COLUMNS the warehouse publishes (a member that stopped
   reporting): a column of that name in outcome_linked_collaboration (or system_metrics,
   for the months charted) that is true or non-zero raises the warning. Nothing else is
   needed for such a column to appear in the headline and the index.

The index ranks collaborations worst first by `attention_key`: the overall band (withheld
first, then concern, borderline, strength), then more characteristics in concern, more
target values not met, more measures with special-cause concern since the last wave, more
data warnings, then name.
"""

from __future__ import annotations

from reports import bands

#: Flags that say a member organisation stopped reporting (issue 13): read if published.
OPTIONAL_WARNING_COLUMNS = ("organisations_not_reporting", "coverage_changed", "members_not_reporting")
BAND_RANK = {None: -1, **bands.ORDER}


def _score(value: float) -> str:
    return f"{value:.2f}"


def _names(items: list[str]) -> str:
    """A list in words; with semicolons where a name has a comma of its own."""
    if len(items) <= 1:
        return "".join(items)
    if any("," in item for item in items):
        return "; ".join(items[:-1]) + "; and " + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str) -> str:
    return f"{word}{'' if n == 1 else 's'}"


def _flagged(value: object) -> bool:
    return bool(value) and value not in ("0", "false", "False")


def overall(context: dict) -> dict | None:
    """The overall score of the reportable wave, its band, and its change since the previous scored wave."""
    scored = context["scored_wave"]
    by_wave = {row["wave"]: row["score"] for row in context["overall"]}
    score = by_wave.get(scored)
    if scored is None or score is None:
        return None
    previous = [w for w in sorted(by_wave) if w < scored and by_wave[w] is not None]
    low, high = context["scale"]
    change = round(score - by_wave[previous[-1]], 2) if previous else None
    return {
        "wave": scored,
        "score": score,
        "band": bands.band_of(score, low, high),
        "previous_wave": previous[-1] if previous else None,
        "change": change,
    }


def characteristics(context: dict) -> dict:
    shown = [row for row in context["scorecard"] if not row["is_suppressed"]]
    ranked = sorted(shown, key=lambda row: (row["score"], row["characteristic_name"]))
    strongest = sorted(shown, key=lambda row: (-row["score"], row["characteristic_name"]))
    weakest = ranked[:2]
    return {
        "n": len(context["scorecard"]),
        "shown": len(shown),
        "concern": sum(row["band"] == "concern" for row in shown),
        "weakest": weakest,
        "strongest": [row for row in strongest[:1] if row not in weakest],
    }


def targets(context: dict) -> dict:
    rows = context["latest_targets"]
    valued = [t for t in rows if t["target_value"] is not None]
    return {
        "met": [t for t in valued if t["target_met"] is True],
        "not_met": [t for t in valued if t["target_met"] is False],
        "moved": [t for t in rows if t["is_improvement"] is True],
        "not_moved": [t for t in rows if t["is_improvement"] is False],
        "unknown": [t for t in rows if t["is_improvement"] is None],
        "n": len(rows),
    }


def spc_flags(context: dict) -> dict[str, list[dict]]:
    flags: dict[str, list[dict]] = {}
    for t in context["latest_targets"]:
        flags.setdefault(t["spc_signal_since_wave"] or "none", []).append(t)
    return flags


def warnings(context: dict) -> list[dict]:
    """Data warnings: what a reader must know before trusting the figures."""
    found = []
    latest, scored = context["latest_wave"], context["scored_wave"]
    if latest is not None and scored != latest:
        found.append(
            {
                "kind": "suppressed",
                "href": "#scorecard",
                "text": f"Wave {latest} is withheld: fewer than 5 respondents in every group"
                + (f"; the scorecard shows wave {scored}." if scored is not None else "."),
            }
        )
    withheld = [row for row in context["scorecard"] if row["is_suppressed"]]
    if withheld and scored is not None:
        found.append(
            {
                "kind": "suppressed",
                "href": "#scorecard",
                "text": f"{len(withheld)} of {len(context['scorecard'])} characteristics at wave {scored} are withheld "
                "(fewer than 5 respondents answered them).",
            }
        )
    if context.get("withheld_organisations"):
        n = context["withheld_organisations"]
        found.append(
            {
                "kind": "suppressed",
                "href": "#perception",
                "text": f"{n} member {_plural(n, 'organisation')}' own scores at wave {scored} are withheld (fewer than "
                "5 respondents, or a score that would reveal such a group): counted in the collaboration's scores, "
                "not shown on their own.",
            }
        )
    wave = latest
    for t in context["latest_targets"]:
        name = t["metric_name"]
        if t["is_provisional"]:
            why = (
                f"the {t['followup_start'].year} figures, the first after wave {wave}, are not yet published"
                if t.get("period_grain") == "year"
                else f"{t['baseline_months']} months before wave {wave}, {t['followup_months']} after; "
                "fewer than 3 in a window"
            )
            found.append(
                {"kind": "provisional", "href": "#targets", "text": f"{name}: provisional comparison ({why})."}
            )
        if t["membership_changed"]:
            found.append(
                {
                    "kind": "membership",
                    "href": "#targets",
                    "text": f"{name}: membership changed around wave {wave}; compared like for like on the "
                    f"{t['organisations_compared']} organisations that were members throughout.",
                }
            )
        for column in OPTIONAL_WARNING_COLUMNS:
            value = t.get(column)
            if _flagged(value):
                detail = "" if isinstance(value, bool) else f" ({column.replace('_', ' ')}: {value})"
                never = t.get("coverage_changed") is False  # left out for having no figures at all, not for stopping
                found.append(
                    {
                        "kind": "not_compared" if never else "not_reporting",
                        "href": "#targets",
                        "metric": t["metric_id"],
                        "text": f"{name}: compared without a member organisation that has no figures in the periods "
                        f"compared around wave {wave}{detail}."
                        if never
                        else f"{name}: a member organisation stopped reporting in the periods compared around "
                        f"wave {wave}{detail}.",
                    }
                )
                break  # one warning per measure, however many flags say so
    for row in context.get("data_warnings", []):  # marts.data_warnings: who, since when, what to do
        found.append({"kind": "not_reporting", "href": "#targets", "metric": row["metric_id"], "text": row["message"]})
    for chart in context.get("charts", []):
        for column, months in chart.get("coverage_flags", {}).items():
            found.append(
                {
                    "kind": "not_reporting",
                    "href": f"#{chart['anchor']}",
                    "metric": chart["metric"].get("metric_id"),
                    "text": f"{chart['metric']['metric_name']}: a member organisation did not report in "
                    f"{months} {'year' if chart['metric'].get('period_grain') == 'year' else 'month'}"
                    f"{'s' if months > 1 else ''} charted ({column.replace('_', ' ')}).",
                }
            )
    return found


def summary(found: list[dict], wave: int | None) -> str:
    """The data warnings in one sentence: suppression as it is, the rest counted by kind."""
    parts = [w["text"].rstrip(".") for w in found if w["kind"] == "suppressed"]
    kinds = {
        "provisional": "provisional comparison (too few months, or the follow-up year not yet published) for {n} {measures}",
        "membership": "membership changed around wave {wave}: {n} {measures} compared like for like",
        "not_reporting": "a member organisation stopped reporting: {n} {measures}",
        "not_compared": "compared without a member organisation that has no figures: {n} {measures}",
    }
    for kind, words in kinds.items():
        n = len({w.get("metric", i) for i, w in enumerate(found) if w["kind"] == kind})  # measures, not lines
        if n:
            parts.append(words.format(n=n, measures=_plural(n, "measure"), wave=wave))
    return "; ".join(parts)


def statements(context: dict) -> list[dict]:
    """The headline: one statement per rule, each with the section that supports it."""
    out = []
    low, high = context["scale"]
    latest, scored = context["latest_wave"], context["scored_wave"]
    whole = overall(context)
    if latest is None:
        out.append(
            {
                "key": "overall",
                "label": "Health",
                "href": "#scorecard",
                "tone": "neutral",
                "text": "No diagnostic wave has responses yet.",
            }
        )
    elif whole is None:
        out.append(
            {
                "key": "overall",
                "label": "Health",
                "href": "#scorecard",
                "tone": "warning",
                "text": f"Wave {latest} is withheld (fewer than 5 respondents) and no earlier wave can be reported.",
            }
        )
    else:
        prefix = f"Wave {latest} is withheld (fewer than 5 respondents). " if scored != latest else ""
        if whole["change"] is None:
            change = ""
        elif whole["change"] == 0:
            change = f", unchanged since wave {whole['previous_wave']}"
        else:
            change = f", {'up' if whole['change'] > 0 else 'down'} {abs(whole['change']):.2f} since wave {whole['previous_wave']}"
        out.append(
            {
                "key": "overall",
                "label": "Health",
                "href": "#scorecard",
                "tone": whole["band"],
                "data": {"wave": scored, "score": _score(whole["score"]), "band": whole["band"]},
                "text": f"{prefix}Overall health at wave {scored}: {whole['band']} "
                f"({_score(whole['score'])} on the {low:g} to {high:g} scale){change}.",
            }
        )
    traits = characteristics(context)
    if traits["shown"]:
        weakest = _names([f"{r['characteristic_name']} {_score(r['score'])} ({r['band']})" for r in traits["weakest"]])
        strongest = _names(
            [f"{r['characteristic_name']} {_score(r['score'])} ({r['band']})" for r in traits["strongest"]]
        )
        text = f"{traits['concern']} of {traits['n']} characteristics in concern. Weakest: {weakest}"
        text += f"; strongest: {strongest}." if strongest else "."
        out.append(
            {
                "key": "characteristics",
                "label": "Characteristics",
                "href": "#scorecard",
                "tone": "concern" if traits["concern"] else "neutral",
                "data": {
                    "concern": traits["concern"],
                    "weakest": "|".join(r["characteristic_name"] for r in traits["weakest"]),
                    "strongest": "|".join(r["characteristic_name"] for r in traits["strongest"]),
                },
                "text": text,
            }
        )
    goals = targets(context)
    if goals["n"]:
        parts = []
        if goals["met"] or goals["not_met"]:
            valued = len(goals["met"]) + len(goals["not_met"])
            parts.append(f"{len(goals['met'])} of {valued} target value{'s' if valued > 1 else ''} met")
            if goals["not_met"]:
                parts[-1] += " (not met: " + _names([t["metric_name"] for t in goals["not_met"]]) + ")"
        moved = (
            f"{len(goals['moved'])} of {goals['n']} target {_plural(goals['n'], 'measure')} moved the wanted way "
            f"after wave {latest}"
        )
        if goals["not_moved"]:
            moved += " (not: " + _names([t["metric_name"] for t in goals["not_moved"]]) + ")"
        if goals["unknown"]:
            moved += " (too soon to tell: " + _names([t["metric_name"] for t in goals["unknown"]]) + ")"
        experience = [t for t in context["latest_targets"] if str(t.get("domain")).endswith("_experience")]
        if experience:
            moved += (
                f"; experience {_plural(len(experience), 'measure')}: {sum(t['is_improvement'] is True for t in experience)}"
                f" of {len(experience)} moved the wanted way"
            )
        parts.append(moved)
        out.append(
            {
                "key": "targets",
                "label": "Targets",
                "href": "#targets",
                "tone": "concern" if goals["not_met"] or goals["not_moved"] else "strength",
                "data": {"met": len(goals["met"]), "not-met": len(goals["not_met"]), "moved": len(goals["moved"])},
                "text": "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + ".",
            }
        )
    flags = spc_flags(context)
    if goals["n"]:
        special = [(k, flags[k]) for k in ("concern", "mixed", "improvement", "special_cause_neutral") if k in flags]
        words = {
            "concern": "concern",
            "mixed": "both improvement and concern",
            "improvement": "improvement",
            "special_cause_neutral": "special cause (neither good nor bad)",
        }
        if special:
            text = f"Special cause since wave {latest}: " + "; ".join(
                f"{words[k]} in {_names([t['metric_name'] for t in ts])}" for k, ts in special
            )
            if "common_cause" in flags:
                text += f"; common cause only in {_names([t['metric_name'] for t in flags['common_cause']])}"
            text += "."
        elif "common_cause" in flags:
            text = f"No special cause since wave {latest}: every measure with SPC limits shows common-cause variation."
        else:
            text = f"Too few months since wave {latest} for an SPC verdict."
        if "none" in flags and (special or "common_cause" in flags):
            text += f" Too few points for SPC: {_names([t['metric_name'] for t in flags['none']])}."
        out.append(
            {
                "key": "spc",
                "label": "Measures",
                "href": "#measures",
                "tone": "concern" if {"concern", "mixed"} & flags.keys() else "neutral",
                "data": {k.replace("_", "-"): len(v) for k, v in flags.items()},
                "text": text,
            }
        )
    found = warnings(context)
    out.append(
        {
            "key": "warnings",
            "label": "Data",
            "href": "#warnings",
            "tone": "warning" if found else "strength",
            "data": {"count": len(found), "kinds": "|".join(sorted({w["kind"] for w in found}))},
            "text": f"{len(found)} data {_plural(len(found), 'warning')}: {summary(found, latest)}."
            if found
            else "No data warnings: no group withheld, no provisional window, no change of membership.",
        }
    )
    return out


def triage(context: dict) -> dict:
    """A collaboration's row in the index, and the key that sorts it worst first."""
    whole = overall(context)
    traits = characteristics(context)
    goals = targets(context)
    flags = spc_flags(context)
    found = warnings(context)
    latest = next((w for w in context["waves"] if w["wave"] == context["latest_wave"]), None)
    row = {
        "collaboration": context["collaboration"],
        "latest_wave": context["latest_wave"],
        "latest_date": latest["fieldwork_end"] if latest else None,
        "overall": whole,
        "concern": traits["concern"],
        "characteristics": traits["n"],
        "met": len(goals["met"]),
        "not_met": len(goals["not_met"]),
        "valued": len(goals["met"]) + len(goals["not_met"]),
        "spc_concern": len(flags.get("concern", [])) + len(flags.get("mixed", [])),
        "spc_improvement": len(flags.get("improvement", [])) + len(flags.get("mixed", [])),
        "warnings": found,
    }
    row["attention_key"] = (
        BAND_RANK[whole["band"] if whole else None],
        -row["concern"],
        -row["not_met"],
        -row["spc_concern"],
        -len(found),
        context["collaboration"]["collaboration_name"],
    )
    return row
