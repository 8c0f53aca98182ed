"""NPS and CSAT per cell with a 95% interval, and a verdict only where the cell can carry one.

- NPS = % promoters (9–10) − % detractors (0–6). Its interval is the adjusted Wald interval of
  Rocks (2016): three pseudo-responses (¾ promoter, ¾ detractor, 1½ passive) are added before the
  variance of the ±1/0 scores is taken, which keeps small and lopsided cells honest.
- CSAT = % of answers 4–5 on 5; its interval is Wilson's score interval.
- Fewer responses than `min_responses`: the score and interval are kept, the verdict is
  "too few responses". Otherwise the interval against the target: "meets target" (all of it at or
  above), "below target" (all of it under), else "inconclusive".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
SCORE_COLUMNS = ["measure", "dimension", "cell", "responses", "score", "low", "high", "target", "verdict"]


@dataclass(frozen=True)
class ScoreSettings:
    min_responses: int = 30
    nps_target: float = 30.0
    csat_target: float = 80.0


def nps_interval(promoters, passives, detractors, z: float = Z95):
    """(NPS, low, high) in points, element-wise over arrays of counts."""
    promoters, passives, detractors = (np.asarray(x, dtype=float) for x in (promoters, passives, detractors))
    n = promoters + passives + detractors
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 100 * (promoters - detractors) / n
        adjusted_n = n + 3
        p, d = (promoters + 0.75) / adjusted_n, (detractors + 0.75) / adjusted_n
        centre = p - d
        half = z * np.sqrt((p + d - centre ** 2) / adjusted_n)
    return score, np.clip(100 * (centre - half), -100, 100), np.clip(100 * (centre + half), -100, 100)


def wilson_interval(successes, n, z: float = Z95):
    """(share, low, high) in percent, element-wise."""
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = successes / n
        denominator = 1 + z ** 2 / n
        centre = (share + z ** 2 / (2 * n)) / denominator
        half = z * np.sqrt(share * (1 - share) / n + z ** 2 / (4 * n ** 2)) / denominator
    return 100 * share, 100 * (centre - half), 100 * (centre + half)


def verdicts(responses, low, high, target: float, min_responses: int) -> np.ndarray:
    responses, low, high = np.asarray(responses), np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return np.select([responses < min_responses, low >= target, high < target],
                     ["too few responses", "meets target", "below target"], "inconclusive")


def score_cells(responses: pd.DataFrame, dimensions: list[str], settings: ScoreSettings) -> pd.DataFrame:
    """NPS and CSAT for every cell of every dimension, plus "all".

    responses: one row per counted response, columns nps (0–10 or NaN), csat (1–5 or NaN) and the
    dimension columns (a response may sit in several rows of a dimension, e.g. one per category).
    """
    parts = []
    for dimension in ["all", *dimensions]:
        keys = pd.Series("all", index=responses.index) if dimension == "all" else responses[dimension]
        frame = responses.assign(cell=keys.astype("string")).dropna(subset=["cell"])
        nps = frame.dropna(subset=["nps"])
        if len(nps):
            counts = nps.assign(promoter=nps["nps"] >= 9, detractor=nps["nps"] <= 6).groupby("cell").agg(
                responses=("nps", "size"), promoters=("promoter", "sum"), detractors=("detractor", "sum"))
            passives = counts["responses"] - counts["promoters"] - counts["detractors"]
            score, low, high = nps_interval(counts["promoters"], passives, counts["detractors"])
            parts.append(_cells("nps", dimension, counts, score, low, high, settings.nps_target, settings))
        csat = frame.dropna(subset=["csat"])
        if len(csat):
            counts = csat.assign(satisfied=csat["csat"] >= 4).groupby("cell").agg(
                responses=("csat", "size"), satisfied=("satisfied", "sum"))
            score, low, high = wilson_interval(counts["satisfied"], counts["responses"])
            parts.append(_cells("csat", dimension, counts, score, low, high, settings.csat_target, settings))
    if not parts:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return pd.concat(parts, ignore_index=True)[SCORE_COLUMNS]


def _cells(measure, dimension, counts, score, low, high, target, settings) -> pd.DataFrame:
    return pd.DataFrame({
        "measure": measure, "dimension": dimension, "cell": counts.index.astype(str),
        "responses": counts["responses"].to_numpy(np.int64), "score": score, "low": low, "high": high,
        "target": target,
        "verdict": verdicts(counts["responses"], low, high, target, settings.min_responses),
    })
