"""The gradient colour scale: log10 of a gradient norm -> a fill colour, and its legend.

One scale per picture: the smallest and largest positive norm drawn set its two ends, so the
colours compare nodes within one picture. The map runs from pale yellow (gradient faded away)
to dark red (large gradient), so a vanishing gradient looks like it fades out.
"""

from __future__ import annotations

import html
import math
from typing import Sequence

# Anchors of a yellow-orange-red sequential map (the ColorBrewer "YlOrRd" scheme), low to high.
SCALE: tuple[str, ...] = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8c3c", "#fc4d2a",
                          "#e2191c", "#bb0026", "#800026")
ZERO_COLOR = "#e0e0e0"  # a gradient that is exactly zero (nothing flowed back)
NO_GRAD_COLOR = "#ffffff"  # a tensor with no gradient stored


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return int(hex_color[1:3], 16), int(hex_color[3:5], 16), int(hex_color[5:7], 16)


def interpolate(x: float, anchors: Sequence[str] = SCALE) -> str:
    """The colour at position x in [0, 1] of the piecewise-linear map through `anchors`."""
    x = min(max(float(x), 0.0), 1.0) * (len(anchors) - 1)
    i = min(int(x), len(anchors) - 2)
    frac = x - i
    lo, hi = _rgb(anchors[i]), _rgb(anchors[i + 1])
    r, g, b = (round(a + (c - a) * frac) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def text_color(fill: str) -> str:
    """Black or white, whichever reads better on `fill` (by its perceived luminance)."""
    r, g, b = _rgb(fill)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


class LogScale:
    """Maps gradient norms to colours by log10(norm), between the smallest and largest norm."""

    def __init__(self, norms: Sequence[float],
                 span: tuple[float, float] | None = None) -> None:
        """norms: the gradient norms drawn; span: a fixed (smallest, largest) norm instead of
        theirs, so that several pictures share one scale (norms outside it are clamped)."""
        if span is not None:
            lo, hi = (float(v) for v in span)
            if not (0 < lo < hi and math.isfinite(hi)):
                raise ValueError(f"LogScale: span must be two norms 0 < min < max, got {span}")
            self.lo, self.hi = math.log10(lo), math.log10(hi)
            return
        positive = [n for n in norms if n > 0 and math.isfinite(n)]
        if not positive:
            self.lo = self.hi = None
        else:
            self.lo, self.hi = math.log10(min(positive)), math.log10(max(positive))

    def position(self, norm: float) -> float:
        """Where `norm` falls on the scale, 0 (smallest) to 1 (largest)."""
        if self.lo is None or self.hi is None or self.hi - self.lo < 1e-12:
            return 0.5
        return (math.log10(norm) - self.lo) / (self.hi - self.lo)

    def color(self, norm: float | None) -> str:
        """Fill colour for a gradient norm (None: no gradient stored; 0: zero gradient)."""
        if norm is None:
            return NO_GRAD_COLOR
        if norm == 0 or not math.isfinite(norm) or self.lo is None:
            return ZERO_COLOR
        return interpolate(self.position(norm))

    def legend_label(self, cells: int = 9) -> str:
        """An HTML-like Graphviz label: a colour bar with the decades it spans, and the min/max."""
        if self.lo is None or self.hi is None:
            return "<<B>no nonzero gradient</B>>"
        span = self.hi - self.lo
        if span < 1e-12:  # one norm only: every node has the middle colour
            cells, positions = 1, [0.5]
        else:
            positions = [k / (cells - 1) for k in range(cells)]
        labels = _tick_labels([self.lo + x * span for x in positions])
        ticks = []
        for x, text in zip(positions, labels):
            fill = interpolate(x)
            ticks.append(f'<TD BGCOLOR="{fill}" WIDTH="34" HEIGHT="18">'
                         f'<FONT POINT-SIZE="8" COLOR="{text_color(fill)}">'
                         f"{text}</FONT></TD>")
        title = "gradient norm \u2016\u2202loss/\u2202tensor\u2016 (log scale)"
        rows = [
            f'<TR><TD COLSPAN="{cells}"><B>{html.escape(title)}</B></TD></TR>',
            "<TR>" + "".join(ticks) + "</TR>",
            f'<TR><TD COLSPAN="{cells}"><FONT POINT-SIZE="9">min {_sci(10 ** self.lo)}'
            f" &#160; max {_sci(10 ** self.hi)} &#160; ({span:.1f} decades)</FONT></TD></TR>",
            f'<TR><TD COLSPAN="{cells}" BGCOLOR="{ZERO_COLOR}"><FONT POINT-SIZE="8">grey: zero '
            "gradient &#160; white: none stored</FONT></TD></TR>",
        ]
        return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">'
                + "".join(rows) + "</TABLE>>")


def _sci(x: float) -> str:
    """A short scientific-notation string: 3.2e-05."""
    return f"{x:.1e}"


def _decade(exponent: float, digits: int = 1) -> str:
    """A tick label: 10**exponent to `digits` significant digits, as 3e-4 or 3.2e-4 (1e0 for
    one)."""
    mantissa, power = f"{10.0 ** exponent:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(power)}"


def _tick_labels(exponents: Sequence[float]) -> list[str]:
    """Labels for the legend's ticks with the fewest significant digits (1 to 3) that tell
    neighbours apart: a scale spanning less than a decade would read 1e0 1e0 1e0 2e0 ..."""
    for digits in (1, 2, 3):
        labels = [_decade(e, digits) for e in exponents]
        if all(a != b for a, b in zip(labels, labels[1:])):
            break
    return labels
