"""Promotion review: promotions as data, the orders they touched, and what they did.

- `calendar`: the team's promotion calendar (CSV) and the rows of the `promotions` table.
- `attribution`: which order lines each promotion touched, with discount and gift cost.
- `review`: sales against a baseline (difference in differences), the dip after, the siblings'
  loss, cost, ROI and the verdict with its uncertainty.
- `chart`: actual against baseline sales per promotion, as an SVG a person opens from the UI.
"""
