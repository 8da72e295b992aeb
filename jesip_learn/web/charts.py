"""Geometry for the server-rendered SVG charts of the compliance dashboard.

The charts draw with SVG attributes only (no inline style, which the Content-Security-Policy
forbids), label every bar and point with its number, and always sit beside a table of the
same figures, so nobody depends on seeing them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float | None  # percentage, None when nobody is counted
    y: float
    width: float
    band: str  # good, fair or poor: a fill pattern as well as a colour


@dataclass(frozen=True, slots=True)
class BarChart:
    bars: list[Bar]
    width: int
    height: int
    label_width: int
    plot_width: int
    bar_height: int
    ticks: list[tuple[float, int]]  # x position, percentage


def band(percent: float | None) -> str:
    """Good at 90% or more, fair from 75%, poor below: the thresholds the legend states."""
    if percent is None:
        return "none"
    if percent >= 90:
        return "good"
    if percent >= 75:
        return "fair"
    return "poor"


def bar_chart(rows: list[tuple[str, float | None]], *, label_width: int = 300,
              plot_width: int = 420, bar_height: int = 22, gap: int = 8) -> BarChart:
    bars = []
    for index, (label, value) in enumerate(rows):
        y = 30 + index * (bar_height + gap)
        width = plot_width * (value or 0) / 100
        bars.append(Bar(label if len(label) <= 42 else label[:41] + "…", value, y, width,
                        band(value)))
    height = 30 + len(rows) * (bar_height + gap) + 10
    ticks = [(label_width + plot_width * p / 100, p) for p in (0, 25, 50, 75, 100)]
    return BarChart(bars, label_width + plot_width + 60, height, label_width, plot_width,
                    bar_height, ticks)


@dataclass(frozen=True, slots=True)
class Point:
    label: str
    value: float | None
    x: float
    y: float


@dataclass(frozen=True, slots=True)
class LineChart:
    points: list[Point]
    path: str
    width: int
    height: int
    left: int
    top: int
    plot_height: int
    plot_width: int
    gridlines: list[tuple[float, int]]  # y position, percentage


def line_chart(series: list[tuple[str, float | None]], *, plot_width: int = 640,
               plot_height: int = 220, left: int = 50, top: int = 20) -> LineChart:
    step = plot_width / max(1, len(series) - 1)
    points = []
    for index, (label, value) in enumerate(series):
        x = left + index * step
        y = top + plot_height * (1 - (value or 0) / 100)
        points.append(Point(label, value, x, y))
    drawn = [point for point in points if point.value is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(drawn))
    gridlines = [(top + plot_height * (1 - p / 100), p) for p in (0, 25, 50, 75, 100)]
    return LineChart(points, path, left + plot_width + 40, top + plot_height + 60, left, top,
                     plot_height, plot_width, gridlines)
