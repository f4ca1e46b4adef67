"""A small SVG renderer: line charts (推移图) and Pareto charts, drawn on the server.

Pure text output; every label is escaped. No JavaScript: hovering a point shows its
value through SVG `<title>`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
FONT = 'font-family="Noto Sans, DejaVu Sans, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]


@dataclass(frozen=True)
class Frame:
    width: int
    height: int
    left: int = 48
    right: int = 140
    top: int = 34
    bottom: int = 46

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom

    def x(self, index: int, count: int) -> float:
        step = self.plot_width / max(count, 1)
        return self.left + step * (index + 0.5)

    def y(self, value: float, low: float, high: float) -> float:
        share = (value - low) / (high - low) if high > low else 0.0
        return self.top + self.plot_height * (1 - share)


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: int = 11,
    anchor: str = "start",
    fill: str = "#333",
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}" {FONT}>{escape(text)}</text>'
    )


def _open(frame: Frame, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{escape(title)}">',
        f'<rect width="{frame.width}" height="{frame.height}" fill="#fff"/>',
        _text(frame.left, 20, title, size=13, weight="bold"),
    ]


def _axes(frame: Frame, labels: list[str], low: float, high: float, unit: str) -> list[str]:
    parts = []
    for step in range(5):
        value = low + (high - low) * step / 4
        y = frame.y(value, low, high)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.left + frame.plot_width}" '
            f'y2="{y:.1f}" stroke="#e5e5e5"/>'
        )
        parts.append(_text(frame.left - 6, y + 4, f"{value:g}{unit}", size=10, anchor="end"))
    months = all(len(label) == 7 and label[4] == "-" for label in labels) and len(labels) > 4
    bottom = frame.top + frame.plot_height
    for index, label in enumerate(labels):
        x = frame.x(index, len(labels))
        # Month series: the month number under each point, the year under the first and
        # under every January, so twelve labels fit side by side.
        parts.append(
            _text(x, bottom + 14, label[5:] if months else label, size=10, anchor="middle")
        )
        if months and (index == 0 or label.endswith("-01")):
            parts.append(_text(x, bottom + 27, label[:4], size=9, anchor="middle", fill="#777"))
    return parts


def _legend(frame: Frame, names: list[str]) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        y = frame.top + 8 + index * 16
        x = frame.left + frame.plot_width + 12
        colour = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y + 1, name[:20], size=10))
    return parts


def line_chart(
    title: str,
    labels: list[str],
    series: list[Series],
    *,
    low: float = 0.0,
    high: float | None = None,
    unit: str = "",
    target: float | None = None,
    width: int = 580,
    height: int = 300,
    say: Callable[[str], str] = str,
) -> str:
    """`say`: the reader's words for the chart's own texts (target, no data)."""
    frame = Frame(width, height)
    values = [v for s in series for v in s.values if v is not None]
    top = high if high is not None else max([*values, target or 0, low + 1])
    parts = _open(frame, title) + _axes(frame, labels, low, top, unit)
    if target is not None:
        y = frame.y(target, low, top)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.left + frame.plot_width}" '
            f'y2="{y:.1f}" stroke="#888" stroke-dasharray="5 4"/>'
        )
        parts.append(
            _text(
                frame.left + frame.plot_width - 2,
                y - 4,
                say("target %(value)s") % {"value": f"{target:g}"},
                size=9,
                anchor="end",
                fill="#666",
            )
        )
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        # A trend joins the measured points: months without a survey are skipped, not zero.
        points = []
        for i, value in enumerate(one.values):
            if value is None:
                continue
            x, y = frame.x(i, len(labels)), frame.y(min(value, top), low, top)
            points.append(f"{x:.1f},{y:.1f}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(one.name)} {escape(labels[i])}: {value:g}{unit}</title></circle>"
            )
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
    if not values:
        parts.append(
            _text(
                frame.left + frame.plot_width / 2,
                frame.top + frame.plot_height / 2,
                say("no data in this period"),
                anchor="middle",
                fill="#999",
            )
        )
    return "\n".join([*parts, *_legend(frame, [s.name for s in series]), "</svg>"])


def pareto_chart(
    title: str, items: list[tuple[str, int]], *, width: int = 580, height: int = 300
) -> str:
    """Bars (count, largest first) with the cumulative share as a line and an 80 % guide."""
    frame = Frame(width, height, right=48)
    ranked = sorted(items, key=lambda item: (-item[1], item[0]))
    labels = [name for name, _ in ranked]
    total = sum(n for _, n in ranked)
    high = max([n for _, n in ranked] + [1])
    parts = _open(frame, title) + _axes(frame, labels, 0, high, "")
    band = frame.plot_width / max(len(ranked), 1)
    cumulative, points = 0, []
    for index, (name, count) in enumerate(ranked):
        x, y = frame.x(index, len(ranked)), frame.y(count, 0, high)
        parts.append(
            f'<rect x="{x - band * 0.35:.1f}" y="{y:.1f}" width="{band * 0.7:.1f}" '
            f'height="{frame.top + frame.plot_height - y:.1f}" fill="{PALETTE[0]}">'
            f"<title>{escape(name)}: {count}</title></rect>"
        )
        cumulative += count
        share = cumulative / total * 100 if total else 0
        points.append(f"{x:.1f},{frame.y(share, 0, 100):.1f}")
        parts.append(
            _text(
                x,
                frame.y(share, 0, 100) - 6,
                f"{share:.0f}%",
                size=9,
                anchor="middle",
                fill=PALETTE[1],
            )
        )
    if points:
        parts.append(
            f'<polyline fill="none" stroke="{PALETTE[1]}" stroke-width="2" '
            f'points="{" ".join(points)}"/>'
        )
        guide = frame.y(80, 0, 100)
        parts.append(
            f'<line x1="{frame.left}" y1="{guide:.1f}" x2="{frame.left + frame.plot_width}" '
            f'y2="{guide:.1f}" stroke="{PALETTE[1]}" stroke-dasharray="3 3" opacity="0.6"/>'
        )
        parts.append(
            _text(frame.left + frame.plot_width + 4, guide + 4, "80%", size=9, fill=PALETTE[1])
        )
    else:
        parts.append(
            _text(
                frame.left + frame.plot_width / 2,
                frame.top + frame.plot_height / 2,
                "no complaints in this period",
                anchor="middle",
                fill="#999",
            )
        )
    return "\n".join([*parts, "</svg>"])
