"""`codemod timings --html`: one self-contained page, charts drawn by matplotlib as inline SVG.

No script, no network: the SVG text is pasted into the page, so it opens anywhere, from a CI artifact
or a mail attachment alike.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence
from typing import Any

from codemod.timings import (
    FAILED,
    FLAKY,
    INTEGRATION,
    LIMITS,
    OK,
    OVER_TARGET,
    SKIPPED,
    SLOW,
    UNIT,
    VERDICTS,
    TestTiming,
    counts,
    human,
)

COLORS = {
    SLOW: "#d62728",
    FLAKY: "#9467bd",
    FAILED: "#111111",
    OVER_TARGET: "#ff9f1c",
    OK: "#2ca02c",
    SKIPPED: "#aaaaaa",
}
MARKERS = {UNIT: "o", INTEGRATION: "D"}
FLOOR = 0.001  # seconds: a log axis needs a floor; faster tests are drawn on it
MAX_PACKAGES = 15
MAX_SLOWEST = 20
MAX_ROWS = 1000

Name = Callable[[str], str]


def render(timings: Sequence[TestTiming], title: str, package_name: Name) -> str:
    """The page for `timings` (slowest first), `package_name` shortens import paths for display."""
    timed = [t for t in timings if t.verdict != SKIPPED]
    found = counts(timings)
    badges = "".join(
        f'<span class="badge" style="background:{COLORS[v]}">{found[v]} {html.escape(v)}</span>'
        for v in VERDICTS
        if found[v]
    )
    charts = ""
    if timed:
        charts = (
            "<h2>Durations per package, against the guide's limits</h2>"
            f"{_package_chart(timed, package_name)}"
            f"<h2>The {min(MAX_SLOWEST, len(timed))} slowest tests</h2>"
            f"{_slowest_chart(timed, package_name)}"
        )
    return _PAGE.format(
        title=html.escape(title),
        badges=badges,
        limits=html.escape(_limits_text()),
        charts=charts,
        table=_table(timings, package_name),
    )


def _limits_text() -> str:
    unit, integration = LIMITS[UNIT], LIMITS[INTEGRATION]
    return (
        f"Unit tests: target < {human(unit.target)}, acceptable < {human(unit.acceptable)}. "
        f"Integration tests: target < {human(integration.target)}, "
        f"acceptable < {human(integration.acceptable)}. A test run several times counts its slowest run."
    )


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # late: matplotlib takes a moment to import

    figure = Figure(figsize=(11, height), dpi=96, layout="constrained")
    axes = figure.add_subplot()
    axes.set_xscale("log")
    axes.grid(axis="x", which="major", color="#e5e5e5")
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _limit_lines(axes: Any) -> None:
    styles = {UNIT: "--", INTEGRATION: ":"}
    for kind, limits in LIMITS.items():
        marks = (("target", limits.target, "#2ca02c"), ("limit", limits.acceptable, "#d62728"))
        for name, value, color in marks:
            axes.axvline(value, color=color, linestyle=styles[kind], linewidth=1.2, zorder=1)
            axes.annotate(
                f"{kind} {name} {human(value)}",
                xy=(value, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, 2),
                textcoords="offset points",
                fontsize=8,
                color=color,
                rotation=30,
                ha="left",
                va="bottom",
            )


def _legend(axes: Any, verdicts: set[str], kinds: set[str]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker="o", linestyle="", color=COLORS[v], label=v) for v in VERDICTS if v in verdicts
    ]
    handles += [
        Line2D([], [], marker=MARKERS[k], linestyle="", color="#555555", label=f"{k} test")
        for k in (UNIT, INTEGRATION)
        if k in kinds
    ]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def _x_range(axes: Any, timings: Sequence[TestTiming], room: float = 1.5) -> None:
    slowest = max(t.slowest for t in timings)
    axes.set_xlim(FLOOR / 1.5, max(LIMITS[INTEGRATION].acceptable * 2, slowest * room))
    axes.set_xlabel("seconds (slowest run, log scale; tests go reports as 0.00 s sit at the left edge)")


def _package_chart(timings: Sequence[TestTiming], package_name: Name) -> str:
    by_package: dict[str, list[TestTiming]] = {}
    for timing in timings:
        by_package.setdefault(timing.package, []).append(timing)
    ordered = sorted(by_package, key=lambda p: max(t.slowest for t in by_package[p]), reverse=True)
    shown = ordered[:MAX_PACKAGES]
    figure, axes = _figure(1.6 + 0.38 * len(shown))
    points: dict[tuple[str, str], tuple[list[float], list[float]]] = {}  # one scatter per look: a small SVG
    for row, package in enumerate(shown):
        members = sorted(by_package[package], key=lambda t: t.slowest)
        for index, timing in enumerate(members):
            xs, ys = points.setdefault((timing.verdict, timing.kind), ([], []))
            xs.append(max(timing.slowest, FLOOR))
            ys.append(row + ((index % 5) - 2) * 0.07)  # a little spread so equal times stay visible
    for verdict in reversed(VERDICTS):  # the worst drawn last, on top
        for kind in (UNIT, INTEGRATION):
            if (verdict, kind) in points:
                xs, ys = points[(verdict, kind)]
                axes.scatter(
                    xs,
                    ys,
                    s=28,
                    color=COLORS[verdict],
                    marker=MARKERS[kind],
                    edgecolors="white",
                    linewidths=0.4,
                    zorder=3,
                )
    axes.set_yticks(range(len(shown)), [_clip(package_name(p), 48) for p in shown], fontsize=8)
    axes.set_ylim(len(shown) - 0.5, -0.5)
    _limit_lines(axes)
    _x_range(axes, timings)
    _legend(axes, {t.verdict for t in timings}, {t.kind for t in timings})
    note = f" ({len(ordered) - len(shown)} faster packages not shown)" if len(ordered) > len(shown) else ""
    if note:
        axes.set_title(note.strip(), fontsize=8, loc="left", color="#666666")
    return _svg(figure)


def _slowest_chart(timings: Sequence[TestTiming], package_name: Name) -> str:
    slowest = sorted(timings, key=lambda t: t.slowest, reverse=True)[:MAX_SLOWEST]
    figure, axes = _figure(1.6 + 0.32 * len(slowest))
    rows = range(len(slowest))
    axes.barh(
        rows,
        [max(t.slowest, FLOOR) - FLOOR / 1.5 for t in slowest],
        left=FLOOR / 1.5,
        color=[COLORS[t.verdict] for t in slowest],
        height=0.7,
        zorder=2,
    )
    for row, timing in zip(rows, slowest, strict=True):
        axes.annotate(
            f"{human(timing.slowest)} · {timing.kind}",
            xy=(max(timing.slowest, FLOOR), row),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    labels = [_clip(f"{package_name(t.package)} {t.test}", 70) for t in slowest]
    axes.set_yticks(list(rows), labels, fontsize=8)
    axes.set_ylim(len(slowest) - 0.5, -0.5)
    _limit_lines(axes)
    _x_range(axes, timings, room=3.0)  # room for the labels right of the bars; colours as above
    return _svg(figure)


def _svg(figure: Any) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "codemod-timings"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return f'<div class="chart">{text[text.index("<svg") :]}</div>'


def _table(timings: Sequence[TestTiming], package_name: Name) -> str:
    rows = []
    for timing in timings[:MAX_ROWS]:
        runs = ", ".join(f"{human(s)} {o}" for s, o in zip(timing.seconds, timing.outcomes, strict=True))
        rows.append(
            f'<tr><td><span class="badge" style="background:{COLORS[timing.verdict]}">'
            f"{html.escape(timing.verdict)}</span></td><td>{timing.kind}</td>"
            f'<td class="num">{human(timing.slowest)}</td><td>{html.escape(runs)}</td>'
            f"<td>{html.escape(package_name(timing.package))}</td><td>{html.escape(timing.test)}</td></tr>"
        )
    more = len(timings) - MAX_ROWS
    tail = f'<p class="note">… and {more} faster tests (see --format json).</p>' if more > 0 else ""
    head = "<tr><th>verdict</th><th>kind</th><th>slowest</th><th>runs</th><th>package</th><th>test</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>{tail}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 1.4em; margin-bottom: .2em; }} h2 {{ font-size: 1.1em; margin-top: 1.6em; }}
.badge {{ display: inline-block; color: #fff; border-radius: 4px; padding: 1px 7px; margin-right: 4px;
  font-size: .85em; white-space: nowrap; }}
.note {{ color: #555; font-size: .9em; }}
.chart svg {{ width: 100%; height: auto; }}
table {{ border-collapse: collapse; font-size: .85em; width: 100%; }}
th, td {{ text-align: left; padding: 2px 8px; border-bottom: 1px solid #eee; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{badges}</p>
<p class="note">{limits}</p>
{charts}
<h2>Every test, slowest first</h2>
{table}
</body></html>
"""
