"""How the report says durations and comparisons, the same in Markdown, HTML and Slack."""

from __future__ import annotations

from app.insight.stats import MIN_FOR_P90, NOT_ENOUGH, Comparison, Summary

LABELS = {
    "detect": "Time to detect",
    "acknowledge": "Time to acknowledge",
    "mitigate": "Time to mitigate",
    "resolve": "Time to resolve",
}
NOT_MEASURED = "not measured"


def human(seconds: float | None) -> str:
    """42s, 17m, 3h 05m, 2d 4h."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, mins = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {mins:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def signed(seconds: float) -> str:
    return ("+" if seconds >= 0 else "-") + human(abs(seconds))


def p90_text(summary: Summary) -> str:
    if summary.p90 is not None:
        return human(summary.p90)
    return "-" if summary.n == 0 else f"(n<{MIN_FOR_P90})"


def summary_cells(summary: Summary) -> list[str]:
    """n, median, p90, mean, not recorded."""
    if summary.n == 0:
        return ["0", NOT_MEASURED, "-", "-", str(summary.not_recorded)]
    return [
        str(summary.n),
        human(summary.median),
        p90_text(summary),
        human(summary.mean),
        str(summary.not_recorded),
    ]


def comparison_text(comparison: Comparison) -> str:
    if comparison.verdict == NOT_ENOUGH:
        if comparison.change is None or comparison.low is None:
            return f"{NOT_ENOUGH} (n={comparison.previous_n} before, {comparison.current_n} now)"
        return (
            f"{NOT_ENOUGH}: median {signed(comparison.change)}, "
            f"95% interval {signed(comparison.low)} to {signed(comparison.high or 0)}"
        )
    assert comparison.change is not None and comparison.low is not None
    return (
        f"{comparison.verdict}: median {signed(comparison.change)} "
        f"(95% interval {signed(comparison.low)} to {signed(comparison.high or 0)})"
    )


def skew_note(summary: Summary) -> str:
    ratio = summary.mean_to_median
    if ratio is None or ratio < 1.5:
        return ""
    return f"mean {ratio:.1f}x the median"
