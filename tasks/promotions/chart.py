"""Actual against baseline daily sales of one promotion, as a small self-contained SVG.

The scorecard artifact embeds it as a data URI, so the chart opens in the Prefect UI with
nothing to serve and no plotting library to install.
"""

from __future__ import annotations

import base64
from html import escape

import numpy as np

WIDTH, HEIGHT, PAD = 560, 180, 32


def sales_chart(title: str, actual: np.ndarray, baseline: np.ndarray, during: np.ndarray) -> str:
    """SVG text: the promotion's days shaded, actual sales as a solid line, the baseline dashed."""
    n = len(actual)
    if n == 0:
        return ""
    top = float(np.nanmax(np.concatenate([actual, baseline, [1.0]])))
    x = PAD + np.arange(n) * (WIDTH - 2 * PAD) / max(n - 1, 1)

    def y(values):
        return HEIGHT - PAD - np.nan_to_num(values) / top * (HEIGHT - 2 * PAD)

    def path(values):
        return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y(values)))

    shaded = np.flatnonzero(during)
    band = ""
    if len(shaded):
        step = (WIDTH - 2 * PAD) / max(n - 1, 1)
        band = (f'<rect x="{x[shaded[0]] - step / 2:.1f}" y="{PAD}" width="{step * len(shaded):.1f}" '
                f'height="{HEIGHT - 2 * PAD}" fill="#fde68a" opacity="0.6"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'font-family="sans-serif" font-size="11">'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>{band}'
            f'<text x="{PAD}" y="18">{escape(title[:80])}</text>'
            f'<text x="{WIDTH - PAD}" y="18" text-anchor="end">max {top:,.0f} a day</text>'
            f'<polyline fill="none" stroke="#6b7280" stroke-dasharray="4 3" stroke-width="1.5" '
            f'points="{path(baseline)}"/>'
            f'<polyline fill="none" stroke="#1d4ed8" stroke-width="2" points="{path(actual)}"/>'
            f'<text x="{PAD}" y="{HEIGHT - 8}" fill="#1d4ed8">actual</text>'
            f'<text x="{PAD + 50}" y="{HEIGHT - 8}" fill="#6b7280">baseline</text>'
            f'<text x="{PAD + 115}" y="{HEIGHT - 8}" fill="#b45309">promotion days</text></svg>')


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
