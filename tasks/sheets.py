"""Sheets the team keeps by hand (CSV): read every column as text, check each row, keep the good.

A bad row is reported with its line number and every reason, and changes nothing; the good rows
still load, so one typo does not hold back the rest of the file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_sheet(path: Path, columns: list[str], required: list[str]) -> pd.DataFrame:
    """The file's `columns` as stripped text ("" where empty); optional columns may be absent."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(columns)}")
    for name in columns:
        if name not in frame.columns:
            frame[name] = ""
    return frame[columns].apply(lambda s: s.str.strip())


def numbers(frame: pd.DataFrame, names: list[str]) -> dict[str, pd.Series]:
    """Numeric values of text columns (NaN where empty or not a number)."""
    return {name: pd.to_numeric(frame[name].replace("", None), errors="coerce") for name in names}


def dates(frame: pd.DataFrame, names: list[str]) -> dict[str, pd.Series]:
    """ISO dates of text columns (NaT where empty or not a date)."""
    return {name: pd.to_datetime(frame[name].replace("", None), format="%Y-%m-%d", errors="coerce")
            for name in names}


def failing_rows(frame: pd.DataFrame, checks: list[tuple[pd.Series, str]], key: str) -> tuple[pd.Series, list[str]]:
    """Rows failing any check (a boolean mask per message), and one line per failure in the
    file's order (a row's reasons in the order of the checks)."""
    line = frame.index + 2  # the header is line 1
    bad = pd.Series(False, index=frame.index)
    failures = []
    for check, (mask, message) in enumerate(checks):
        mask = mask.fillna(True).astype(bool)
        for position in frame.index[mask]:  # only failing rows: a few, not the file
            failures.append((line[position], check, f"line {line[position]}: {message} "
                                                    f"({key} {frame.at[position, key] or '—'})"))
        bad |= mask
    return bad, [text for _, _, text in sorted(failures)]
