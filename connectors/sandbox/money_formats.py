"""Money as competitor sites write it: 1234.56, 1234,56, 1.234,56 €, €1.234,56, $1,234.56, 1234.56 USD.

From integer cents, exactly (never through a float). The text is what a reader sees: a no-break
space is the character U+00A0 here; the page writes it as &nbsp; (competitor_pages.py).
"""

from __future__ import annotations

NBSP = "\u00a0"
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}


def _grouped(whole: int, separator: str) -> str:
    return f"{whole:,}".replace(",", separator)


def format_money(cents: int, money_format: str, currency: str) -> str:
    """`cents` in one of competitor_config.MONEY_FORMATS ("number" is the JSON number's text)."""
    whole, fraction = divmod(int(cents), 100)
    symbol = SYMBOLS.get(currency, currency)
    if money_format in ("dot", "number"):
        return f"{whole}.{fraction:02d}"
    if money_format == "comma":
        return f"{whole},{fraction:02d}"
    if money_format == "de":
        return f"{_grouped(whole, '.')},{fraction:02d} {symbol}"
    if money_format == "de_nbsp":
        return f"{_grouped(whole, '.')},{fraction:02d}{NBSP}{symbol}"
    if money_format == "eu_prefix":
        return f"{symbol}{_grouped(whole, '.')},{fraction:02d}"
    if money_format == "en":
        return f"{symbol}{_grouped(whole, ',')}.{fraction:02d}"
    if money_format == "code":
        return f"{whole}.{fraction:02d} {currency}"
    raise ValueError(f"unknown money format {money_format!r}")
