"""A competitor's offer — price, currency, stock — read from one product page, robustly.

`extract_offer(html, selector=..., currency_hint=..., sku=...)` is pure (no IO) and never raises:
whatever the page, it returns an `Offer` whose `status` says what was found. Only an `ok` offer
carries a price the caller may use; out of stock, a missing price and an unreadable page are
statuses, never a price. `detail` is one sentence for the people reading the monitoring table:
it quotes at most a short, markup-free excerpt of the page.

Where the answer comes from, in this order
  1. schema.org JSON-LD: every `<script type="application/ld+json">` block on its own (a broken
     block never hides a good one); a single object, an array or `@graph`; `@type` as a string
     or a list, any case, bare or as an http(s)://schema.org/ or schema: IRI; `@id` references.
  2. schema.org microdata (`itemscope`/`itemprop`, read with extruct).
  3. the per-site CSS selector (parsel): the first matching element's text content, joined as
     the DOM joins it ("12<span>,99</span>" is "12,99"; a space around block elements and <br>),
     whitespace collapsed; two digits in <sup> after a number are cents ("12<sup>99</sup>" is
     12.99, not 1299); text inside <del>/<s>/<strike> (the struck-through old price), <script>,
     <style> and screen-reader-only classes (WooCommerce repeats both prices there) is left out;
     an empty element gives its `content`/`value` attribute. `::attr(...)`/`::text` selectors
     give that string. Only the first match counts (a later one may be a related product).
  From structured data: the Product whose sku/mpn/productID (on the product or on one of its
  offers) equals `sku`, else the first Product with an offer (JSON-LD before microdata); a
  stand-alone Offer counts as a product. Of its offers: those in stock (anything but
  OutOfStock/SoldOut/Discontinued; PreOrder, BackOrder, LimitedAvailability ... count as
  buyable), in `currency_hint` if some are, else in the first priced offer's currency; the
  lowest price wins (as AggregateOffer's lowPrice does). An offer's price is `price`, or
  `lowPrice` for an AggregateOffer, or a `priceSpecification` (not one typed ListPrice,
  StrikethroughPrice, MSRP/SRP). Only when every offer is out of stock is the status
  `out_of_stock` (the price shown, if any, is kept for the record). A product whose offers have
  no usable price falls through to the next source, then to the selector.

Statuses: `ok` (a usable price); `out_of_stock`; `missing_price` when there is nothing to read
(no offer, no price field, no digits as in "Call for price", zero, the selector matched nothing);
`parse_error` when something is there but cannot be trusted (a range, several amounts, a negative
or absurd number, an invalid selector, a binary page). `method` is the source that gave the
answer, or the last one that found something; "none" when none did.

Money rules (`parse_money`, and structured prices that are not plain "123.45")
  - Currency: a symbol or ISO code in the text; else `currency_hint`. "$" is the hint when the
    hint is a dollar/peso currency, else USD; "¥" is CNY with a CNY hint, else JPY; "kr" needs a
    SEK/NOK/DKK/ISK hint (otherwise the currency is unknown). ALL, TOP and CUP are not read as
    codes in running text (they are English words).
  - Separators: with both "." and ",", the last one is the decimal separator. Spaces (normal,
    no-break, narrow, thin) and apostrophes only group thousands, so a single "." or "," after
    them is the decimal separator ("1 234,5", "1'234.50"). A lone separator repeated
    ("1.234.567") groups thousands. A single separator followed by exactly three digits
    ("1,234", "1.234", "12.999") groups thousands — unless the integer part is 0 ("0,999") or
    the currency (found in the text, else the hint) has three decimals (KWD, BHD, OMR, JOD, TND,
    LYD, IQD): then it is the decimal separator. One, two or four and more digits after a single
    separator are decimals ("12,5", "12,99", "12.9900"). "12,-" / "12.–" are whole amounts.
    Groups after the first must have three digits (Indian 1,23,456.00 is accepted too).
  - Structured data: a plain string "123.45" (or a JSON number) is read the schema.org way,
    "." as decimal point, whatever the digit count; JSON numbers are read as Decimal (never a
    binary float: 19.99 stays 19.99). Anything else ("12,99", "€12.99") goes through the rules above.
  - Rejected: no digits ("Call for price", "N/A", ""), negative, a range ("10-20", "€10 – €20"),
    several different amounts (the same amount repeated is fine; "19 %" is not an amount), two
    currencies, zero, 10^10 or more, NaN/Infinity, text over 200 characters.
  - Rounded half-up to the currency's minor unit: 0 places for JPY, KRW and the other
    zero-decimal ISO 4217 currencies, 3 for KWD/BHD/OMR/JOD/TND/LYD/IQD, 2 otherwise (also when
    the currency is unknown). An amount that rounds to 0 is rejected.

Hostile input: the page is cut at `max_bytes` before anything is parsed (and `detail` says so);
bytes are decoded as UTF-8 (BOM and <meta charset> honoured, bad bytes replaced); NUL and other
control characters are dropped; a page that is mostly binary is a `parse_error`. JSON-LD blocks
are found by a linear scan of the text, not by the HTML tree, so a page nested too deep for
libxml2 (which silently stops at depth 2048) still yields its JSON-LD; each block is parsed
leniently (comments, trailing commas, HTML-escaped JSON, CDATA wrappers, and `</script>` inside
a JSON string, which ends the script element early). Nested data deeper than 40 levels is ignored.
Microdata is not read on pages with more than 2,000 itemprops or items nested 8 deep: extruct's
property query grows with the square of the one and the cube of the other.
"""

from __future__ import annotations

import codecs
import html as html_lib
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["Offer", "extract_offer", "parse_money"]

STATUSES = ("ok", "out_of_stock", "missing_price", "parse_error")
METHODS = ("json-ld", "microdata", "css", "none")

# ISO 4217 codes in use (plus HRK, still on old pages). Fields (priceCurrency, the hint) accept any
# three letters; running text only these, so "NEW" or "SALE" are never read as currencies.
ISO_CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN
NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU
UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWL
""".split())
_CODES_NOT_IN_TEXT = frozenset({"ALL", "TOP", "CUP"})
ZERO_DECIMAL_CURRENCIES = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split())
THREE_DECIMAL_CURRENCIES = frozenset("BHD IQD JOD KWD LYD OMR TND".split())
_DOLLAR_CURRENCIES = frozenset("""USD CAD AUD NZD HKD SGD MXN TWD ARS CLP COP UYU BSD BBD BZD BMD BND
FJD GYD JMD KYD LRD NAD SBD SRD TTD XCD DOP CUP""".split())
_KRONE_CURRENCIES = frozenset({"SEK", "NOK", "DKK", "ISK"})

MAX_PRICE = Decimal(10) ** 10   # no product page sells anything for ten billion, in any currency
MAX_MONEY_TEXT = 200            # characters, after whitespace is collapsed
MAX_JSONLD_BLOCKS = 100
MAX_VALUES_PER_BLOCK = 100      # top-level JSON values in one block ({...}{...} happens)
MAX_ITEMPROPS = 2_000           # more microdata properties than a product page has: not read
MAX_ITEM_NESTING = 8            # microdata items within items (Product > Offer > PriceSpecification ...)
MAX_DEPTH = 40                  # nesting levels of structured data looked at
MAX_NODES = 50_000              # objects and arrays looked at, over all structured data
MAX_OFFERS = 200                # offers read per product
MAX_RECOVER = 512 * 1024        # characters read past a </script> that ended a JSON-LD block early
MAX_RECOVERIES = 10
MAX_REPAIR = 512 * 1024         # JSON-LD blocks larger than this are not repaired
EXCERPT_NAME = 22               # characters of page text quoted in `detail` (a name, and at most
EXCERPT_TEXT = 18               # two price texts: ~60 in all)


@dataclass(frozen=True)
class Offer:
    status: str            # "ok" | "out_of_stock" | "missing_price" | "parse_error"
    price: Decimal | None  # set when status == "ok"; for out_of_stock only the price shown, for the record
    currency: str | None   # ISO 4217, upper case
    method: str            # "json-ld" | "microdata" | "css" | "none": where the answer came from
    detail: str            # one short sentence a person can act on


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"), "-")
_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u2032\u00b4`"), "'")
_ARABIC_SEPARATORS = {0x066B: ".", 0x066C: ","}
_TEXT_MAP = {**_DASHES, **_APOSTROPHES, **_ARABIC_SEPARATORS}

# A number: digit groups joined by . , ' or by a space that is followed by exactly three digits;
# optionally "12,-" / "12.--". No nested quantifiers that can match the same text: linear.
_NUMBER_RE = re.compile(r"[0-9]+(?:(?:[.,']|\x20(?=[0-9]{3}(?![0-9])))[0-9]+)*(?:[.,]-{1,2}(?![0-9]))?")
_GROUP_SPLIT_RE = re.compile(r"([.,'\x20])")
_NEGATIVE_RE = re.compile(r"(?<![A-Za-z0-9])-\x20?(?:[^\x20A-Za-z0-9]{1,3}|[A-Z]{3})?\x20?$")
_PERCENT_RE = re.compile(r"\x20?%")
_MACHINE_NUMBER_RE = re.compile(r"\+?[0-9]{1,30}(?:\.[0-9]{1,30})?")
_CODE_RE = re.compile(r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])")
_SYMBOL_RE = re.compile(
    r"(?<![A-Za-z])(?:US|CA|AU|NZ|HK|SG|MX|NT|C|A|S|R)?\$"
    r"|[€£¥₩₹₽₺₪₫₴₱฿₦₲₡₸₼₾₭৳元円]|ر\.س|د\.إ"
    r"|(?<![A-Za-z])(?:zł|zl|Kč|Ft|lei|kr\.?|SFr\.|Fr\.|Rp|RM|руб\.?|лв\.?)(?![A-Za-z])")
_SYMBOLS = {
    "US$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD", "NZ$": "NZD",
    "HK$": "HKD", "S$": "SGD", "SG$": "SGD", "R$": "BRL", "MX$": "MXN", "NT$": "TWD",
    "€": "EUR", "£": "GBP", "₩": "KRW", "₹": "INR", "₽": "RUB", "₺": "TRY", "₪": "ILS", "₫": "VND",
    "₴": "UAH", "₱": "PHP", "฿": "THB", "₦": "NGN", "₲": "PYG", "₡": "CRC", "₸": "KZT", "₼": "AZN",
    "₾": "GEL", "₭": "LAK", "৳": "BDT", "元": "CNY", "円": "JPY", "zł": "PLN", "zl": "PLN",
    "ر.س": "SAR", "د.إ": "AED", "Kč": "CZK", "Ft": "HUF", "lei": "RON", "SFr.": "CHF", "Fr.": "CHF",
    "Rp": "IDR", "RM": "MYR",
    "руб": "RUB", "руб.": "RUB", "лв": "BGN", "лв.": "BGN",
}
_AMBIGUOUS = object()   # "kr" without a krone hint: the text names a currency we cannot tell


@dataclass(frozen=True)
class _Money:
    amount: Decimal | None      # not yet rounded
    currency: str | None        # from the text (None: none found)
    kind: str                   # "ok" | "missing" | "error"
    reason: str = ""            # why not, as a predicate: "has no amount"


def _minor_units(currency: str | None) -> int:
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def _currency_code(value) -> str | None:
    """A currency field (priceCurrency, the hint): three letters, or a symbol we know."""
    if not isinstance(value, str):
        return None
    code = value.strip()
    if len(code) == 3 and code.isascii() and code.isalpha():
        return code.upper()
    return _SYMBOLS.get(code) or {"$": "USD", "¥": "JPY"}.get(code)


def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_TEXT_MAP)
    if not text.isascii():   # other scripts' decimal digits (Arabic-Indic, Devanagari ...) → 0-9
        text = "".join(ch if ch.isascii() or (d := unicodedata.decimal(ch, None)) is None else str(d)
                       for ch in text)
    return " ".join(text.split())


def _text_currency(text: str, hint: str | None):
    """The currency the text names: a code, None (names none), or _AMBIGUOUS; error text if two."""
    found = set()
    for m in _SYMBOL_RE.finditer(text):
        symbol = m.group(0)
        if symbol == "$":
            found.add(hint if hint in _DOLLAR_CURRENCIES else "USD")
        elif symbol == "¥":
            found.add("CNY" if hint == "CNY" else "JPY")
        elif symbol in ("kr", "kr."):
            found.add(hint if hint in _KRONE_CURRENCIES else _AMBIGUOUS)
        else:
            found.add(_SYMBOLS[symbol])
    for m in _CODE_RE.finditer(text):
        code = m.group(0)
        if code in ISO_CURRENCIES and code not in _CODES_NOT_IN_TEXT:
            found.add(code)
    if _AMBIGUOUS in found and len(found) == 2 and not (found - {_AMBIGUOUS}) - _KRONE_CURRENCIES:
        found.discard(_AMBIGUOUS)             # "99 kr SEK"
    if len(found) > 1:
        return None, "names several currencies"
    return (found.pop() if found else None), None


def _interpret(token: str, minor: int) -> Decimal | None:
    """One number token → its value by the separator rules in the module docstring (None: unreadable)."""
    whole = False
    if token.endswith("-"):
        token, whole = token.rstrip("-")[:-1], True
    parts = _GROUP_SPLIT_RE.split(token)
    groups, seps = parts[0::2], parts[1::2]
    if not seps:
        return Decimal(groups[0])
    marks = [s for s in seps if s in ".,"]
    decimal_sep = None
    if len(set(marks)) == 2:
        decimal_sep = seps[-1]
        if decimal_sep not in ".," or seps.count(decimal_sep) != 1:
            return None
    elif len(marks) == 1 and seps[-1] in ".,":
        after = groups[-1]
        if len(seps) > 1 or len(after) != 3 or groups[0] == "0" or minor == 3:
            decimal_sep = seps[-1]
    # otherwise (one kind of mark, repeated or not last; or only spaces/apostrophes): thousands
    if decimal_sep is not None and whole:
        return None          # "12,99,-"
    integer, fraction = (groups[:-1], groups[-1]) if decimal_sep else (groups, "")
    thousands = seps[:-1] if decimal_sep else seps
    if len(integer) > 1:
        if len(set(thousands)) != 1 or (decimal_sep and decimal_sep in thousands):
            return None
        first, rest = integer[0], integer[1:]
        western = 1 <= len(first) <= 3 and all(len(g) == 3 for g in rest)
        indian = (thousands[0] == "," and 1 <= len(first) <= 2 and len(rest) >= 2
                  and all(len(g) == 2 for g in rest[:-1]) and len(rest[-1]) == 3)
        if not (western or indian) or (first.startswith("0")):
            return None
    return Decimal("".join(integer) + ("." + fraction if fraction else ""))


def _check_amount(amount: Decimal) -> _Money:
    if not amount.is_finite():
        return _Money(None, None, "error", "is not a finite number")
    if amount < 0:
        return _Money(None, None, "error", "is negative")
    if amount == 0:
        return _Money(None, None, "missing", "is zero (shops show 0 when the price is on request)")
    if amount >= MAX_PRICE:
        return _Money(None, None, "error", "is implausibly large")
    return _Money(amount, None, "ok")


def _read_number(value) -> _Money:
    """A JSON number (Decimal, int or float: through str, so 19.99 stays 19.99)."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return _Money(None, None, "error", "is not a readable number")
    return _check_amount(amount)


def _read_money(text, hint: str | None) -> _Money:
    """Amount (unrounded) and currency from a price text; see the module docstring for the rules."""
    if isinstance(text, bool):
        return _Money(None, None, "error", "is not an amount")
    if isinstance(text, (int, float, Decimal)):
        return _read_number(text)
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text[:10_000]).decode("utf-8", "replace")
    if not isinstance(text, str):
        return _Money(None, None, "error", "is not text")
    if len(text) > 10_000:
        return _Money(None, None, "error", "is too long to be a price")
    text = _normalise_text(text)
    if not text:
        return _Money(None, None, "missing", "is empty")
    if len(text) > MAX_MONEY_TEXT:
        return _Money(None, None, "error", "is too long to be a price")
    currency, problem = _text_currency(text, hint)
    if problem:
        return _Money(None, None, "error", problem)
    context = currency if isinstance(currency, str) else hint
    values, previous_end = [], None
    for m in _NUMBER_RE.finditer(text):
        if _PERCENT_RE.match(text, m.end()):
            continue                      # "-20 %", "19% VAT": not the amount
        before = text[previous_end or 0:m.start()]
        if previous_end is not None and "-" in before:
            return _Money(None, None, "error", "is a price range, not one price")
        if _NEGATIVE_RE.search(before):
            return _Money(None, None, "error", "is negative")
        token = m.group(0)
        bare_fraction = (previous_end is None and m.start() > 0 and text[m.start() - 1] in ".,"
                         and _GROUP_SPLIT_RE.search(token) is None
                         and (m.start() == 1 or not text[m.start() - 2].isalnum()))
        if bare_fraction:
            value = Decimal("0." + token)      # "€.99"
        else:
            value = _interpret(token, _minor_units(context))
        if value is None:
            return _Money(None, None, "error", "is not a readable amount")
        values.append(value)
        previous_end = m.end()
    if not values:
        return _Money(None, None, "missing", "has no amount")
    if len(set(values)) > 1:
        return _Money(None, None, "error", "holds several different amounts")
    checked = _check_amount(values[0])
    if checked.kind != "ok":
        return checked
    return _Money(checked.amount, None if currency is _AMBIGUOUS else currency, "ok",
                  "ambiguous" if currency is _AMBIGUOUS else "")


def _round(amount: Decimal, currency: str | None) -> Decimal | None:
    rounded = amount.quantize(Decimal(1).scaleb(-_minor_units(currency)), rounding=ROUND_HALF_UP)
    return rounded if rounded > 0 else None


def parse_money(text: str, currency_hint: str | None = None) -> tuple[Decimal | None, str | None]:
    """("1.234,56 €") → (Decimal("1234.56"), "EUR"); (None, None) when it is not one positive amount.

    The currency is the one the text names, else `currency_hint` (upper-cased, if three letters).
    The amount is rounded half-up to the currency's minor unit (2 places when unknown). Rules for
    separators and what is rejected: see the module docstring. Never raises.
    """
    try:
        hint = _currency_code(currency_hint)
        money = _read_money(text, hint)
        if money.kind != "ok":
            return None, None
        currency = money.currency or (None if money.reason == "ambiguous" else hint)
        amount = _round(money.amount, currency)
        return (amount, currency) if amount is not None else (None, None)
    except Exception:       # a last line of defence: a price parser must not take a flow down
        return None, None


# ---------------------------------------------------------------------------------------------
# Page text
# ---------------------------------------------------------------------------------------------

_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I)


@dataclass
class _Page:
    text: str = ""
    size: int = 0
    truncated: bool = False
    error: str | None = None
    limit: int = 0


def _decode(html, max_bytes) -> _Page:
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
        max_bytes = 2_000_000
    if isinstance(html, str):
        if len(html) * 4 <= max_bytes:
            return _Page(html, len(html), limit=max_bytes)
        data = html.encode("utf-8", "replace")
        if len(data) <= max_bytes:
            return _Page(html, len(data), limit=max_bytes)
        return _Page(data[:max_bytes].decode("utf-8", "ignore"), len(data), True, limit=max_bytes)
    if isinstance(html, (bytes, bytearray, memoryview)):
        data = bytes(html)
        size = len(data)
        truncated = size > max_bytes
        data = data[:max_bytes]
        return _Page(_decode_bytes(data, truncated), size, truncated, limit=max_bytes)
    return _Page(error=f"the page content is {type(html).__name__}, not text or bytes")


def _decode_bytes(data: bytes, truncated: bool) -> str:
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom):].decode(codec, "replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if truncated and exc.start >= len(data) - 3:
            return data[:exc.start].decode("utf-8", "replace")   # the cut split a character
    m = _META_CHARSET_RE.search(data[:4096])
    if m:
        try:
            codec = codecs.lookup(m.group(1).decode("ascii")).name
        except LookupError:
            codec = None
        if codec and not codec.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
            return data.decode(codec, "replace")
    return data.decode("utf-8", "replace")


def _looks_binary(text: str) -> bool:
    """Undecodable bytes and control characters (NUL aside: it is dropped, and it is all UTF-16
    without a BOM adds to ASCII) make a fifth of the first 8 KB: an image, gzip, random bytes."""
    sample = text[:8192]
    if len(sample) < 32:
        return False
    bad = sample.count("\ufffd") + len(_CONTROL_RE.findall(sample)) - sample.count("\x00")
    return bad * 5 > len(sample)


def _excerpt(value, limit: int) -> str:
    """Page text fit for `detail`: no markup, no control characters, at most `limit` characters."""
    text = html_lib.unescape(re.sub(r"<[^<>]{0,300}>", " ", str(value)[:2000]))
    text = re.sub(r"<[^<>]{0,300}>", " ", text)
    text = " ".join(_CONTROL_RE.sub(" ", text).replace("<", " ").replace(">", " ").split())
    text = text.replace("'", "’")
    return "'" + (text if len(text) <= limit else text[:limit - 1].rstrip() + "…") + "'"


def _config_text(value, limit: int) -> str:
    """The caller's own text (a selector, a sku) for `detail`: one line, at most `limit` characters."""
    text = " ".join(_CONTROL_RE.sub(" ", str(value)).split()).replace("'", "’")
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ---------------------------------------------------------------------------------------------
# JSON-LD: found by a linear scan of the text, parsed block by block, leniently
# ---------------------------------------------------------------------------------------------

_MARKUP_RE = re.compile(r"<(?:!--|script\b|style\b)", re.I)
_SCRIPT_END_RE = re.compile(r"</script", re.I)
_STYLE_END_RE = re.compile(r"</style", re.I)
_LD_TYPE_RE = re.compile(r"""\btype\s*=\s*["']?\s*application/ld\+json""", re.I)
_WS_RE = re.compile(r"\s*")
_WRAPPER_HEAD_RE = re.compile(r"<!--|(?://|/\*)?\s*<!\[CDATA\[\s*(?:\*/)?")
_WRAPPER_TAIL_RE = re.compile(r"(?:(?://|/\*)?\s*\]\]>\s*(?:\*/)?|-->)\s*$")
# Strings (to the end if unterminated), comments, a trailing comma, anything else: each
# alternative ends where it must, so one pass is linear even on hostile text.
_REPAIR_RE = re.compile(r'(?P<string>"(?:[^"\\]|\\.)*(?:"|\Z))|(?P<comment>//[^\n]*|/\*.*?(?:\*/|\Z))'
                        r'|(?P<comma>,(?=\s*[}\]]))|[^"/,]+|.', re.S)
_DECODER = json.JSONDecoder(strict=False, parse_float=Decimal, parse_int=Decimal)


@dataclass
class _JsonLd:
    roots: list = field(default_factory=list)
    blocks: int = 0
    unreadable: int = 0


def _loads_all(text: str) -> list:
    """Every JSON value in `text` (several objects in one block happen); raises if none."""
    values, idx, end = [], _WS_RE.match(text).end(), len(text)
    while idx < end and len(values) < MAX_VALUES_PER_BLOCK:
        try:
            value, idx = _DECODER.raw_decode(text, idx)
        except ValueError:
            if values:
                break          # trailing junk after good JSON (";", a stray "</div>")
            raise
        values.append(value)
        idx = _WS_RE.match(text, idx).end()
        if idx < end and text[idx] in ",;":
            idx = _WS_RE.match(text, idx + 1).end()
    if not values:
        raise ValueError("empty")
    return values


def _repair(text: str) -> str:
    """Comments out, trailing commas out (outside strings): what hand-written JSON-LD gets wrong."""
    return _REPAIR_RE.sub(lambda m: " " if m.lastgroup in ("comment", "comma") else m.group(0), text)


def _unwrap(body: str) -> str:
    """Drop <!-- --> and CDATA wrappers. Anchored matches only: no regex runs over the whole block."""
    body = body.strip()
    head = _WRAPPER_HEAD_RE.match(body)
    if head:
        body = body[head.end():]
    tail = body[-40:]
    end = _WRAPPER_TAIL_RE.search(tail)
    if end:
        body = body[:len(body) - len(tail) + end.start()]
    return body


def _load_block(text: str, start: int, end: int, may_recover: bool) -> tuple[list | None, int]:
    """JSON values of one block and where the JSON ended (past `end` when a </script> cut it)."""
    body = _unwrap(text[start:end])
    attempts = [lambda: _loads_all(body)]
    if may_recover:
        def recover():
            at = _WS_RE.match(text, start).end()
            value, stop = _DECODER.raw_decode(text[at:at + MAX_RECOVER])
            return [value], at + stop
        attempts.append(recover)
    if len(body) <= MAX_REPAIR:
        attempts.append(lambda: _loads_all(_repair(body)))
        if "&quot;" in body or "&#34;" in body or "&#x22;" in body.lower():
            unescaped = html_lib.unescape(body)
            attempts += [lambda: _loads_all(unescaped), lambda: _loads_all(_repair(unescaped))]
    for attempt in attempts:
        try:
            result = attempt()
        except (ValueError, RecursionError, MemoryError):
            continue
        if isinstance(result, tuple):
            return result
        return result, end
    return None, end


def _jsonld(text: str) -> _JsonLd:
    found = _JsonLd()
    pos, n, recoveries = 0, len(text), 0
    while found.blocks < MAX_JSONLD_BLOCKS:
        m = _MARKUP_RE.search(text, pos)
        if m is None:
            break
        if m.group(0) == "<!--":
            close = text.find("-->", m.end())
            if close < 0:
                break
            pos = close + 3
            continue
        gt = text.find(">", m.end())
        if gt < 0:
            break
        if m.group(0).lower() == "<style":
            close_m = _STYLE_END_RE.search(text, gt + 1)
            if close_m is None:
                break
            pos = close_m.end()
            continue
        close_m = _SCRIPT_END_RE.search(text, gt + 1)
        end = close_m.start() if close_m else n
        pos = close_m.end() if close_m else n
        if not _LD_TYPE_RE.search(text, m.end(), min(gt, m.end() + 2000)):
            continue
        found.blocks += 1
        values, stop = _load_block(text, gt + 1, end, close_m is not None and recoveries < MAX_RECOVERIES)
        if values is None:
            found.unreadable += 1
            continue
        if stop > end:
            recoveries += 1
            pos = max(pos, stop)
        found.roots.extend(values)
    return found


# ---------------------------------------------------------------------------------------------
# Structured data → products and their offers
# ---------------------------------------------------------------------------------------------

PRODUCT_TYPES = frozenset({"product", "productgroup", "productmodel", "individualproduct", "someproducts",
                           "productcollection", "vehicle", "car", "motorcycle", "book", "drug",
                           "dietarysupplement", "softwareapplication"})
OFFER_TYPES = frozenset({"offer", "aggregateoffer", "offerforpurchase", "offerforlease"})
_OUT_OF_STOCK = frozenset({"outofstock", "soldout", "discontinued"})
_NOT_THE_PRICE = frozenset({"listprice", "strikethroughprice", "msrp", "srp", "invoiceprice",
                            "minimumadvertisedprice"})
_SKU_KEYS = ("sku", "mpn", "productid")


def _local(name) -> str:
    text = str(name).strip()
    for sep in ("/", "#", ":"):
        text = text.rsplit(sep, 1)[-1]
    return text.lower()


def _norm(value, depth: int, budget: list):
    """Structured data with keys as lower-case local names ("http://schema.org/priceCurrency",
    "priceCurrency" → "pricecurrency"); capped in depth and size."""
    if isinstance(value, dict):
        if depth > MAX_DEPTH or budget[0] <= 0:
            return None
        budget[0] -= 1
        return {(key.lower() if key.startswith("@") else _local(key)): _norm(v, depth + 1, budget)
                for key, v in value.items() if isinstance(key, str)}
    if isinstance(value, list):
        if depth > MAX_DEPTH or budget[0] <= 0:
            return None
        budget[0] -= 1
        return [_norm(v, depth + 1, budget) for v in value[:MAX_NODES]]
    return value


def _types(node: dict) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {_local(v) for v in values if isinstance(v, str)}


def _first_text(value):
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, int, Decimal)) and not isinstance(v, bool)), None)
    if isinstance(value, dict):
        value = value.get("@value")
    return value if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool) else None


def _sku_key(value) -> str | None:
    text = _first_text(value) if not isinstance(value, str) else value
    if text is None:
        return None
    key = " ".join(str(text).split()).casefold()
    return key or None


def _skus(node: dict) -> set[str]:
    keys = set()
    for name in _SKU_KEYS:
        value = node.get(name)
        for v in (value if isinstance(value, list) else [value]):
            key = _sku_key(v)
            if key:
                keys.add(key)
    return keys


@dataclass
class _Candidate:
    method: str
    name: str | None
    skus: set
    offers: list
    matched: bool = False


def _candidates(roots: list, method: str) -> list[_Candidate]:
    budget = [MAX_NODES]
    roots = [_norm(r, 0, budget) for r in roots]
    index, products, offers_seen, stack = {}, [], [], list(reversed(roots))
    while stack:                          # pre-order, document order
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        node_id = node.get("@id")
        if isinstance(node_id, str) and len(node) > 1:
            index.setdefault(node_id, node)
        types = _types(node)
        if types & OFFER_TYPES:
            offers_seen.append(node)
        elif types & PRODUCT_TYPES or "offers" in node:
            products.append(node)
        stack.extend(reversed([v for v in node.values() if isinstance(v, (dict, list))]))

    def resolve(value):
        if isinstance(value, str):
            return index.get(value)
        if isinstance(value, dict) and set(value) <= {"@id"}:
            return index.get(value.get("@id")) if isinstance(value.get("@id"), str) else None
        return value if isinstance(value, dict) else None

    attached, found, by_product = set(), [], {}
    for product in products:
        raw = product.get("offers")
        offers = [o for o in map(resolve, raw if isinstance(raw, list) else [raw]) if o][:MAX_OFFERS]
        for o in offers:
            attached.add(id(o))
            inner = o.get("offers")
            for child in (inner if isinstance(inner, list) else [inner]):
                child = resolve(child)
                if child is not None:
                    attached.add(id(child))
        found.append(_Candidate(method, _first_text(product.get("name")), _skus(product), offers))
        by_product[id(product)] = found[-1]
    for offer in offers_seen:
        if id(offer) in attached:
            continue
        item = resolve(offer.get("itemoffered")) or {}
        if id(item) in by_product:        # Offer → itemOffered → Product: the product's offer
            by_product[id(item)].offers.append(offer)
            continue
        name = _first_text(offer.get("name")) or _first_text(item.get("name"))
        found.append(_Candidate(method, name, _skus(offer) | _skus(item), [offer]))
    return found


def _pick(candidates: list[_Candidate], sku: str | None) -> _Candidate | None:
    """The product for `sku` (narrowed to its matching offers), else None when a sku is given;
    without a sku, the first product with an offer."""
    if sku is None:
        return next((c for c in candidates if c.offers), None)
    for c in candidates:
        matching = [o for o in c.offers if sku in _skus(o)]
        if matching:
            return replace(c, offers=matching, matched=True)
        if sku in c.skus:
            return replace(c, matched=True)
    return None


@dataclass
class _Read:
    """One offer, read."""
    amount: Decimal | None
    currency: str | None
    kind: str                  # "ok" | "missing" | "error"
    reason: str
    raw: object
    out: bool
    availability: str | None


@dataclass
class _Result:
    status: str | None         # "ok" | "out_of_stock"; None: this source gave no answer
    method: str
    text: str                  # the sentence, without the trailing notes
    price: Decimal | None = None
    currency: str | None = None
    kind: str = "missing"      # for status None: "missing" or "error"


def _price_value(offer: dict, aggregate: bool):
    for key in (("lowprice", "price") if aggregate else ("price",)):
        value = offer.get(key)
        if value not in (None, "", []):
            return value, offer.get("pricecurrency") or offer.get("currency")
    specs = offer.get("pricespecification")
    for spec in (specs if isinstance(specs, list) else [specs])[:20]:
        if not isinstance(spec, dict):
            continue
        price_type = _first_text(spec.get("pricetype"))
        if price_type and _local(price_type) in _NOT_THE_PRICE:
            continue
        value = spec.get("price", spec.get("minprice"))
        if value not in (None, "", []):
            return value, spec.get("pricecurrency") or offer.get("pricecurrency") or offer.get("currency")
    return None, offer.get("pricecurrency") or offer.get("currency")


def _structured_amount(value, context: str | None) -> _Money:
    if isinstance(value, dict):
        value = value.get("@value")
    if isinstance(value, list):
        reads = [_structured_amount(v, context) for v in value[:10] if v not in (None, "")]
        good = [r for r in reads if r.kind == "ok"]
        if good and len({r.amount for r in good}) > 1:
            return _Money(None, None, "error", "holds several different prices")
        return good[0] if good else (reads[0] if reads else _Money(None, None, "missing", "is empty"))
    if value is None:
        return _Money(None, None, "missing", "is missing")
    if isinstance(value, bool):
        return _Money(None, None, "error", "is not an amount")
    if isinstance(value, (int, float, Decimal)):
        return _read_number(value)
    if isinstance(value, str):
        plain = value.strip()
        if _MACHINE_NUMBER_RE.fullmatch(plain):
            return _check_amount(Decimal(plain))
        return _read_money(plain, context)
    return _Money(None, None, "error", "is not an amount")


def _read_offer(offer: dict, hint: str | None) -> list[_Read]:
    types = _types(offer)
    aggregate = "aggregateoffer" in types
    availability = _first_text(offer.get("availability"))
    label = _local(availability) if isinstance(availability, str) and availability.strip() else None
    out = label is not None and re.sub("[^a-z]", "", label) in _OUT_OF_STOCK
    raw, currency_field = _price_value(offer, aggregate)
    if raw is None and aggregate and isinstance(offer.get("offers"), (list, dict)):
        inner = offer["offers"]
        reads = []
        for child in (inner if isinstance(inner, list) else [inner])[:MAX_OFFERS]:
            if isinstance(child, dict):
                inherited = {"availability": availability, "pricecurrency": offer.get("pricecurrency")}
                reads += _read_offer({**inherited, **{k: v for k, v in child.items() if v is not None}}, hint)
        if reads:
            return reads
    field_currency = _currency_code(_first_text(currency_field))
    money = _structured_amount(raw, field_currency or hint)
    currency = field_currency or money.currency or (None if money.reason == "ambiguous" else hint)
    amount = None
    if money.kind == "ok":
        amount = _round(money.amount, currency)
        if amount is None:
            money = _Money(None, None, "error", "rounds to zero")
    label_text = next((t for t in ("OutOfStock", "SoldOut", "Discontinued", "InStock", "PreOrder", "PreSale",
                                   "BackOrder", "LimitedAvailability", "OnlineOnly", "InStoreOnly")
                       if t.lower() == re.sub("[^a-z]", "", label or "")), None) if label else None
    return [_Read(amount, currency if amount is not None else field_currency or hint, money.kind, money.reason,
                  raw, out, label_text or (_excerpt(availability, 20) if label else None))]


_SOURCE_NAMES = {"json-ld": "JSON-LD", "microdata": "microdata", "css": "the CSS selector"}


def _money_text(amount: Decimal, currency: str | None) -> str:
    return f"{amount} {currency}" if currency else f"{amount} (currency unknown)"


def _evaluate(c: _Candidate, hint: str | None, sku) -> _Result:
    source = _SOURCE_NAMES[c.method]
    what = f" for sku '{_config_text(sku, 40)}'" if c.matched else ""
    if c.name:
        what += f" of {_excerpt(c.name, EXCERPT_NAME)}"
    if not c.offers:
        return _Result(None, c.method, f"{source} product{what} has no offer")
    reads = [r for o in c.offers for r in _read_offer(o, hint)][:MAX_OFFERS]
    in_stock = [r for r in reads if not r.out]

    def lowest(priced: list[_Read]) -> tuple[_Read, int]:
        currencies = [r.currency for r in priced]
        wanted = hint if hint in currencies else currencies[0]
        same = [r for r in priced if r.currency == wanted]
        return min(same, key=lambda r: r.amount), len(same)

    priced = [r for r in in_stock if r.kind == "ok"]
    if priced:
        best, count = lowest(priced)
        extra = f", lowest of {count} offers" if count > 1 else ""
        if best.availability and best.availability != "InStock":
            extra += f", availability {best.availability}"
        return _Result("ok", c.method, f"{_money_text(best.amount, best.currency)} from {source} offer{what}{extra}",
                       best.amount, best.currency)
    if not in_stock:
        shown = [r for r in reads if r.kind == "ok"]
        label = reads[0].availability or "OutOfStock"
        if shown:
            best, _ = lowest(shown)
            return _Result("out_of_stock", c.method,
                           f"Out of stock ({label}) per {source} offer{what}; the price shown, "
                           f"{_money_text(best.amount, best.currency)}, is kept for the record only",
                           best.amount, best.currency)
        return _Result("out_of_stock", c.method, f"Out of stock ({label}) per {source} offer{what}; no price shown",
                       None, reads[0].currency)
    first = next((r for r in in_stock if r.kind == "error"), in_stock[0])
    if first.raw is None or first.raw == "" or first.reason == "is missing":
        return _Result(None, c.method, f"{source} offer{what} has no price", kind="missing")
    shown = first.raw if not isinstance(first.raw, (dict, list)) else _first_text(first.raw) or "…"
    return _Result(None, c.method,
                   f"{source} offer{what} has price {_excerpt(shown, EXCERPT_TEXT)}, which {first.reason}",
                   kind=first.kind)


# ---------------------------------------------------------------------------------------------
# The HTML tree: microdata and the CSS selector
# ---------------------------------------------------------------------------------------------

_ITEMSCOPE_RE = re.compile(r"itemscope", re.I)
_SKIP_TEXT_TAGS = frozenset({"script", "style", "del", "s", "strike", "template", "noscript"})
# Text for screen readers repeats what is shown ("Original price was: £20.00." — WooCommerce 8+).
_SKIP_TEXT_CLASSES = frozenset({"screen-reader-text", "sr-only", "visually-hidden", "visuallyhidden"})
_BLOCK_TAGS = frozenset({"br", "div", "p", "li", "ul", "ol", "dd", "dt", "dl", "tr", "td", "th", "table",
                         "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"})
_CENTS_RE = re.compile(r"\s*[0-9]{2}\s*")


def _parse_tree(text: str):
    import lxml.html
    parser = lxml.html.HTMLParser(encoding="utf-8", huge_tree=True)   # one per call: not thread-safe
    return lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)


def _microdata_roots(tree) -> list:
    from extruct.w3cmicrodata import MicrodataExtractor

    def convert(item, depth):
        if isinstance(item, list):
            return [convert(i, depth + 1) for i in item] if depth < MAX_DEPTH else None
        if not isinstance(item, dict) or depth >= MAX_DEPTH:
            return item if not isinstance(item, dict) else None
        node = {}
        if "type" in item:
            node["@type"] = item["type"]
        if "id" in item:
            node["@id"] = item["id"]
        if "value" in item and "properties" not in item:
            node["@value"] = item["value"]
        for key, value in (item.get("properties") or {}).items():
            node[key] = convert(value, depth + 1)
        return node

    items = MicrodataExtractor().extract_items(tree, base_url=None)
    return [convert(i, 0) for i in items]


def _element_text(element, limit: int = 10_000) -> str:
    """The element's text content, joined as the DOM joins it ("12<span>,99</span>" is "12,99"),
    with a space around block elements and <br>, cents in <sup> after a number read as decimals
    ("12<sup>99</sup>" is "12.99", not 1299), and without <script>/<style>/<del>/<s>/<strike>
    or screen-reader-only text; an empty element's `content`/`value` attribute instead."""
    parts, size = [], 0

    def add(text):
        nonlocal size
        if text:
            parts.append(text)
            size += len(text)

    add(element.text)
    stack = [(iter(element), None)]
    while stack and size < limit:
        children, tail = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            add(tail)
            continue
        tag = child.tag.lower() if isinstance(child.tag, str) else None
        if tag is None or tag in _SKIP_TEXT_TAGS \
                or not _SKIP_TEXT_CLASSES.isdisjoint((child.get("class") or "").split()):
            add(child.tail)
            continue
        if tag in _BLOCK_TAGS:
            add(" ")
        elif tag == "sup" and _CENTS_RE.fullmatch(child.text_content()) and parts \
                and "".join(parts[-3:]).rstrip()[-1:].isdigit():
            add("." + child.text_content().strip())
            add(child.tail)
            continue
        add(child.text)
        stack.append((iter(child), f" {child.tail or ''}" if tag in _BLOCK_TAGS else child.tail))
    text = " ".join("".join(parts)[:limit].split())
    if not text:
        text = (element.get("content") or element.get("value") or "").strip()
    return text


def _css(tree, selector: str, hint: str | None) -> _Result:
    from parsel import Selector

    shown = _config_text(selector, 60)
    try:
        matches = Selector(root=tree, type="html").css(selector)
    except Exception:     # cssselect raises SelectorSyntaxError (a SyntaxError!) and ExpressionError
        return _Result(None, "none", f"the CSS selector '{shown}' is not valid", kind="error")
    if not matches:
        return _Result(None, "none", f"the CSS selector '{shown}' matched nothing")
    first = matches[0].root
    text = first if isinstance(first, str) else _element_text(first)
    more = f" (first of {len(matches)} matches)" if len(matches) > 1 else ""
    money = _read_money(text, hint)
    if money.kind == "ok":
        currency = money.currency or (None if money.reason == "ambiguous" else hint)
        amount = _round(money.amount, currency)
        if amount is not None:
            return _Result("ok", "css", f"{_money_text(amount, currency)} from the CSS selector '{shown}'{more}",
                           amount, currency)
        money = _Money(None, None, "error", "rounds to zero")
    found = f"found {_excerpt(text, EXCERPT_TEXT)}, which {money.reason}" if text else "found no text"
    return _Result(None, "css", f"the CSS selector '{shown}'{more} {found}", kind=money.kind)


# ---------------------------------------------------------------------------------------------
# extract_offer
# ---------------------------------------------------------------------------------------------

def _sentence(main: str, notes: list[str]) -> str:
    text = "; ".join([main, *notes])
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def extract_offer(html: str | bytes, *, selector: str | None = None, currency_hint: str | None = None,
                  sku: str | None = None, max_bytes: int = 2_000_000) -> Offer:
    """The offer on a product page: structured data first, the CSS selector second. Never raises."""
    try:
        return _extract(html, selector, currency_hint, sku, max_bytes)
    except Exception as exc:       # a last line of defence; every known failure is handled below
        return Offer("parse_error", None, None, "none",
                     f"The page could not be read ({type(exc).__name__}); look at it by hand.")


def _extract(html, selector, currency_hint, sku, max_bytes) -> Offer:
    hint = _currency_code(currency_hint)
    sku_key = _sku_key(sku) if isinstance(sku, (str, int)) else None
    selector = selector.strip() if isinstance(selector, str) and selector.strip() else None
    page = _decode(html, max_bytes)
    if page.error:
        return Offer("parse_error", None, None, "none", _sentence(page.error, []))
    text = page.text
    if _looks_binary(text):
        return Offer("parse_error", None, None, "none",
                     "The page is binary data, not HTML (an image, a compressed or an error response?).")
    text = _CONTROL_RE.sub("", text)
    notes = []
    if page.truncated:
        notes.append(f"only the first {page.limit:,} bytes of the {page.size:,}-byte page were read")
    if not text.strip():
        return Offer("parse_error", None, None, "none", _sentence("the page is empty", notes))

    jsonld = _jsonld(text)
    jl = _candidates(jsonld.roots, "json-ld")
    state = {}

    def tree():
        if "tree" not in state:
            try:
                state["tree"] = _parse_tree(text)
            except Exception:      # lxml: "Document is empty" and the like
                state["tree"] = None
                notes.append("the HTML could not be parsed")
        return state["tree"]

    def microdata() -> list[_Candidate]:
        if "microdata" not in state:
            state["microdata"] = []
            if _ITEMSCOPE_RE.search(text) and tree() is not None:
                # extruct's property query (an EXSLT set:difference per item) grows with the square
                # of the properties and the cube of the nesting: bound both before asking it.
                props = int(tree().xpath("count(//*[@itemprop])"))
                if props > MAX_ITEMPROPS:
                    notes.append(f"the microdata was not read ({props:,} properties: not one product page)")
                    return state["microdata"]
                if tree().xpath(f"boolean(//*[@itemscope][count(ancestor::*[@itemscope]) >= {MAX_ITEM_NESTING}])"):
                    notes.append(f"the microdata was not read (items nested more than {MAX_ITEM_NESTING} deep)")
                    return state["microdata"]
                try:
                    state["microdata"] = _candidates(_microdata_roots(tree()), "microdata")
                except Exception:  # extruct recursing into nesting too deep, and the like
                    notes.append("the microdata could not be read")
        return state["microdata"]

    def ordered():
        if sku_key is not None:
            found = False
            for source in (lambda: jl, microdata):
                pick = _pick(source(), sku_key)
                if pick is not None:
                    found = True
                    yield pick
            if found:
                return
            if jl or microdata():
                notes.append(f"no product on the page has sku '{_config_text(sku, 40)}', so the first was used")
        for source in (lambda: jl, microdata):
            pick = _pick(source(), None)
            if pick is not None:
                yield pick

    tried: list[_Result] = []
    for candidate in ordered():
        result = _evaluate(candidate, hint, sku)
        if result.status is not None:
            return _offer(result, notes)
        tried.append(result)
    structured = bool(tried)

    if selector is not None:
        css = _css(tree(), selector, hint) if tree() is not None else \
            _Result(None, "none", "the CSS selector had no HTML to look at", kind="error")
        if css.status == "ok":
            if structured:
                notes.insert(0, "structured data had no usable price")
            return _offer(css, notes)
        tried.append(css)

    if jsonld.unreadable:
        notes.append(f"{jsonld.unreadable} of {jsonld.blocks} JSON-LD blocks were unreadable")
    if not structured:
        products = bool(jl) or bool(microdata())
        main = ("the structured product data has no offer" if products else
                "no schema.org Product or Offer in JSON-LD or microdata")
        tried.insert(0, _Result(None, "none", main))
    if selector is None:
        tried.append(_Result(None, "none", "no CSS selector is configured to fall back on"))
    status = "parse_error" if any(r.kind == "error" for r in tried) else "missing_price"
    method = next((r.method for r in reversed(tried) if r.method != "none"), "none")
    return Offer(status, None, None, method, _sentence(", and ".join(r.text for r in tried[:3]), notes))


def _offer(result: _Result, notes: list[str]) -> Offer:
    return Offer(result.status, result.price, result.currency, result.method, _sentence(result.text, notes))
