"""Server-drawn SVG charts: a chart's numbers in, shapes with coordinates out; a macro draws them.

No framework and no JavaScript: labels arrive translated and Jinja escapes them when it writes the
SVG. Sizes are viewBox units. The SVG scales to its box (width 100%), so a chart is WIDTH units
wide on every screen; WIDTH and the font sizes are chosen so text stays 12 px or larger on a
390 px phone (the card is about 335 px wide there) and under 18 px on a desktop, where the
stylesheet caps a chart at 440 px.
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from dataclasses import dataclass, field

from web.services.interchange import FORMULA_STARTS

WIDTH = 380
FONT = 15
SMALL = 14
BAR = 16
TEXT = "#1d2a33"
MUTED = "#5b6b76"
GRID = "#d9e1e6"
# Every colour has at least 4.5:1 contrast with white (WCAG asks 3:1 for graphics) and
# neighbours differ in lightness as well as hue; lines also differ in dash pattern.
PALETTE = ("#0d6b57", "#1f5fa8", "#b35900", "#7b3fa0", "#4d5b66", "#b3261e", "#6b5e00", "#00708a")
DASHES = ("", "7 4", "2 3", "9 3 2 3", "4 4")
KINDS = ("bars", "stacked", "line", "columns")


@dataclass
class Category:
    """A row of a bar chart or a position on a time or slot axis."""

    label: str
    short: str = ""  # axis label where space is tight (a day, a slot time); the label otherwise

    @property
    def axis(self) -> str:
        return self.short or self.label


@dataclass
class Series:
    """One set of numbers, one per category."""

    label: str
    values: list[int]
    colour: str = ""
    dash: str = ""


@dataclass
class Shape:
    """One SVG element: rect, line, polyline, circle or text (the template writes them in order)."""

    kind: str
    x: float = 0
    y: float = 0
    w: float = 0
    h: float = 0
    x2: float = 0
    y2: float = 0
    points: str = ""
    fill: str = ""
    stroke: str = ""
    dash: str = ""
    text: str = ""
    anchor: str = "start"
    size: int = FONT
    role: str = ""  # the element's class: bar, column, point, line, label, value, axis, legend...
    tip: str = ""  # a <title> inside the element: the exact figure on hover or long press


@dataclass
class Figure:
    width: int
    height: float
    shapes: list[Shape]


@dataclass
class Chart:
    """A chart's numbers and words; `figure()` lays it out, `header()`/`rows()` give its table and CSV."""

    key: str
    kind: str
    title: str
    description: str
    category_header: str
    categories: list[Category]
    series: list[Series]
    empty_text: str = ""
    extra: list[Series] = field(default_factory=list)  # columns of the table and the CSV only, after the total
    total_label: str = ""  # adds a column with the sum of the series to the table and the CSV
    limit: int = 0  # bar charts: draw this many rows and fold the rest into one
    other_label: str = ""  # "%(n)d more" style label of the folded row, with %(n)d
    reference: tuple[str, int] | None = None  # column charts: a dashed line (label, value), e.g. the tables
    drop_zero: bool = False  # bar charts: leave rows with nothing to draw out of the picture (not the table)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown chart kind {self.kind!r}")
        for number, series in enumerate(self.series):
            if len(series.values) != len(self.categories):
                raise ValueError(f"series {series.label!r} has {len(series.values)} values for "
                                 f"{len(self.categories)} categories")
            series.colour = series.colour or PALETTE[number % len(PALETTE)]
            if self.kind == "line" and not series.dash:
                series.dash = DASHES[number % len(DASHES)]

    @property
    def is_empty(self) -> bool:
        return not any(value for series in self.series for value in series.values)

    def totals(self) -> list[int]:
        return [sum(series.values[i] for series in self.series) for i in range(len(self.categories))]

    def header(self) -> list[str]:
        total = [self.total_label] if self.total_label else []
        return [self.category_header] + [s.label for s in self.series] + total + [s.label for s in self.extra]

    def rows(self) -> list[list]:
        """Every category with its numbers (none folded away): the table under the chart and the CSV."""
        totals = self.totals()
        rows = []
        for i, category in enumerate(self.categories):
            total = [totals[i]] if self.total_label else []
            values = [s.values[i] for s in self.series] + total + [s.values[i] for s in self.extra]
            rows.append([category.label] + values)
        return rows

    def summary(self) -> str:
        """A short text of the biggest figures, for the SVG's <desc> (the table holds them all)."""
        if self.kind == "line":
            parts = [f"{s.label}: {sum(s.values):,}" for s in self.series]
        else:
            ranked = sorted(zip(self.categories, self.totals()), key=lambda item: -item[1])
            parts = [f"{c.label}: {n:,}" for c, n in ranked[:6] if n]
        return "; ".join(parts)

    def drawn(self) -> tuple[list[Category], list[Series]]:
        """The categories and series the picture shows: a bar chart's rows past `limit` folded into one."""
        categories, series = self.categories, self.series
        if self.kind not in ("bars", "stacked"):
            return categories, series
        if self.drop_zero:
            kept = [i for i, total in enumerate(self.totals()) if total]
            categories = [categories[i] for i in kept]
            series = [Series(s.label, [s.values[i] for i in kept], s.colour, s.dash) for s in series]
        if not self.limit or len(categories) <= self.limit:
            return categories, series
        keep, rest = self.limit - 1, len(categories) - self.limit + 1
        other = Category((self.other_label or "%(n)d more") % {"n": rest})
        series = [Series(s.label, s.values[:keep] + [sum(s.values[keep:])], s.colour, s.dash) for s in series]
        return categories[:keep] + [other], series

    def figure(self) -> Figure:
        if self.kind in ("bars", "stacked"):
            return bar_figure(self)
        return plot_figure(self)


# --- text measures ------------------------------------------------------------------------

def text_width(text: str, size: float = FONT) -> float:
    """Estimated width of text in a sans-serif font: CJK characters are square, Latin ones narrower."""
    em = 0.0
    for char in text:
        if unicodedata.east_asian_width(char) in ("W", "F"):
            em += 1.0
        elif char in "il.,:;'|!()[] ":
            em += 0.32
        elif char.isupper() or char in "mwMW@%":
            em += 0.72
        elif char.isdigit() or char in "/-–":
            em += 0.64
        else:
            em += 0.56
    return em * size


def fit(text: str, width: float, size: float = FONT) -> str:
    """The text, cut with an ellipsis if it would be wider than width."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def nice_scale(top: int, intervals: int = 4) -> tuple[int, int]:
    """An axis maximum at or above top and a whole-number step of 1, 2 or 5 times a power of ten."""
    if top <= 0:
        return 1, 1
    raw = top / intervals
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, math.ceil(step))
    return math.ceil(top / step) * step, step


def _r(value: float) -> float:
    return round(value, 1)


def _tip(category: str, series: Series, value: int, single: bool) -> str:
    return f"{category}: {value:,}" if single else f"{category} · {series.label}: {value:,}"


# --- pieces --------------------------------------------------------------------------------

def legend(series: list[Series], y: float, lines: bool = False) -> tuple[list[Shape], float]:
    """Swatches (or line samples) with labels, wrapped to the width; returns the shapes and the height used."""
    shapes: list[Shape] = []
    x, row_height = 0.0, SMALL + 8
    swatch = 22 if lines else 12
    for s in series:
        label = fit(s.label, WIDTH - swatch - 6, SMALL)
        needed = swatch + 6 + text_width(label, SMALL) + 14
        if x > 0 and x + needed > WIDTH:
            x, y = 0.0, y + row_height
        middle = y + row_height / 2 - 2
        if lines:
            shapes.append(Shape("line", x=x, y=middle, x2=x + swatch, y2=middle, stroke=s.colour, dash=s.dash,
                                role="legend-swatch"))
        else:
            shapes.append(Shape("rect", x=x, y=middle - 6, w=12, h=12, fill=s.colour, role="legend-swatch"))
        shapes.append(Shape("text", x=x + swatch + 6, y=middle + SMALL / 2 - 1, text=label, size=SMALL, role="legend"))
        x += needed
    return shapes, (y + row_height + 6 if series else y)


def bar_figure(chart: Chart) -> Figure:
    """Horizontal bars, one row per category, labels above the bars so long names keep the full width."""
    categories, series = chart.drawn()
    shapes: list[Shape] = []
    y = 0.0
    if chart.kind == "stacked" and len(series) > 1:
        shapes, y = legend(series, 0)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = max(totals, default=0) or 1
    scale = (WIDTH - text_width(f"{top:,}", FONT) - 10) / top
    single = len(series) == 1
    for i, category in enumerate(categories):
        label = fit(category.label, WIDTH, FONT)
        shapes.append(Shape("text", x=0, y=_r(y + FONT), text=label, role="label",
                            tip=category.label if label != category.label else ""))
        bar_y = y + FONT + 5
        x = 0.0
        for s in series:
            value = s.values[i]
            if not value:
                continue
            width = max(value * scale, 2)
            shapes.append(Shape("rect", x=_r(x), y=_r(bar_y), w=_r(width), h=BAR, fill=s.colour,
                                stroke="#fff" if not single else "", role="bar",
                                tip=_tip(category.label, s, value, single)))
            x += width
        shapes.append(Shape("text", x=_r(x + 6), y=_r(bar_y + BAR - 3), text=f"{totals[i]:,}", role="value"))
        y = bar_y + BAR + 12
    return Figure(WIDTH, _r(y), shapes)


def _axis_labels(count: int, spacing: float, labels: list[str]) -> list[int]:
    """Which positions get an axis label so that neighbours do not overlap."""
    widest = max((text_width(label, SMALL) for label in labels), default=0) + 10
    every = max(1, math.ceil(widest / spacing)) if spacing > 0 else count
    chosen = list(range(0, count, every))
    if count - 1 not in chosen and count > 1:
        # The last position is the most recent or the last slot: label it, dropping a crowded neighbour.
        if chosen and (count - 1 - chosen[-1]) * spacing < widest:
            chosen.pop()
        chosen.append(count - 1)
    return chosen


def plot_figure(chart: Chart) -> Figure:
    """A line chart (series over time) or a column chart (one series per position, with a reference line)."""
    categories, series = chart.categories, chart.series
    lines = chart.kind == "line"
    shapes: list[Shape] = []
    y = 0.0
    if lines and len(series) > 1:
        shapes, y = legend(series, 0, lines=True)
    top_value = max((v for s in series for v in s.values), default=0)
    if chart.reference:
        top_value = max(top_value, chart.reference[1])
    top, step = nice_scale(top_value)
    left = text_width(f"{top:,}", SMALL) + 8
    plot_top, plot_height = y + 10, 180.0
    plot_bottom, plot_width = plot_top + plot_height, WIDTH - left - 4
    # Lines start and end half an axis label in, so the first and last labels fit centred.
    inset = max((text_width(c.axis, SMALL) for c in categories), default=0) / 2 if lines else 0

    def y_of(value: float) -> float:
        return _r(plot_bottom - value * plot_height / top)

    for tick in range(0, top + 1, step):
        shapes.append(Shape("line", x=_r(left), y=y_of(tick), x2=WIDTH, y2=y_of(tick),
                            stroke=MUTED if tick == 0 else GRID, role="grid"))
        shapes.append(Shape("text", x=_r(left - 5), y=_r(y_of(tick) + 4), text=f"{tick:,}", anchor="end",
                            size=SMALL, role="axis"))
    count = len(categories)
    if lines:
        span = plot_width - 2 * inset
        spacing = span / (count - 1) if count > 1 else span
        xs = [left + inset + i * spacing for i in range(count)] if count > 1 else [left + plot_width / 2]
    else:
        spacing = plot_width / max(count, 1)
        xs = [left + (i + 0.5) * spacing for i in range(count)]
    single = len(series) == 1
    if lines:
        for s in series:
            points = " ".join(f"{_r(x)},{y_of(v)}" for x, v in zip(xs, s.values))
            shapes.append(Shape("polyline", points=points, stroke=s.colour, dash=s.dash, role="line", tip=s.label))
            for x, v, category in zip(xs, s.values, categories):
                shapes.append(Shape("circle", x=_r(x), y=y_of(v), w=2.5 if count <= 60 else 1.5, fill=s.colour,
                                    role="point", tip=_tip(category.label, s, v, single)))
    else:
        width = max(spacing * 0.7, 1)
        for s in series:
            for x, v, category in zip(xs, s.values, categories):
                if v:
                    shapes.append(Shape("rect", x=_r(x - width / 2), y=y_of(v), w=_r(width),
                                        h=_r(plot_bottom - y_of(v)), fill=s.colour, role="column",
                                        tip=_tip(category.label, s, v, single)))
    if chart.reference:
        label, value = chart.reference
        shapes.append(Shape("line", x=_r(left), y=y_of(value), x2=WIDTH, y2=y_of(value), stroke=TEXT, dash="6 4",
                            role="reference"))
        shapes.append(Shape("text", x=WIDTH, y=_r(y_of(value) - 5), text=label, anchor="end", size=SMALL,
                            role="reference-label"))
    axis = [c.axis for c in categories]
    for index in _axis_labels(count, spacing, axis):
        shapes.append(Shape("text", x=_r(xs[index]), y=_r(plot_bottom + SMALL + 6), text=axis[index],
                            anchor="middle", size=SMALL, role="axis"))
    return Figure(WIDTH, _r(plot_bottom + SMALL + 12), shapes)


# --- CSV ---------------------------------------------------------------------------------------

def _cell(value) -> object:
    # Spreadsheet formula guard, as in the organization export: text starting like a formula is quoted.
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def chart_csv(chart: Chart) -> str:
    """The chart's table as CSV with a byte-order mark (Excel then reads Japanese names as UTF-8)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(name) for name in chart.header()])
    for row in chart.rows():
        writer.writerow([_cell(value) for value in row])
    return buffer.getvalue()
