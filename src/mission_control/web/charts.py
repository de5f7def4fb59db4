"""Small bar charts drawn on the server as SVG (no script, no inline style)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 280
HEIGHT = 90
AXIS = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    label: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    axis: int = AXIS


def bar_chart(values: list[tuple[str, int]], *, label: str) -> BarChart:
    """Bars scaled to the largest value; the template draws them and their labels."""
    top = max((value for _, value in values), default=0) or 1
    slot = WIDTH / max(len(values), 1)
    drawable = HEIGHT - AXIS - 14
    bars = []
    for index, (name, value) in enumerate(values):
        height = drawable * value / top
        bars.append(
            Bar(
                label=name,
                value=value,
                x=index * slot + slot * 0.15,
                y=HEIGHT - AXIS - height,
                width=slot * 0.7,
                height=height,
            )
        )
    return BarChart(label=label, bars=bars)
