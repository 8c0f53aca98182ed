"""People: the customer pool of a store, and the odd gift recipient, as integer codes.

Codes index the flat tables in locales; strings are made for a page's rows only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .locales import (CITY_SPANS, CITY_TABLE, COUNTRIES, FIRST_NAME_ASCII, FIRST_NAME_ASCII_ID, FIRST_NAME_SPANS,
                      FIRST_NAME_TABLE, LAST_NAME_ASCII, LAST_NAME_ASCII_ID, LAST_NAME_SPANS, LAST_NAME_TABLE,
                      MAIL_DOMAIN_ID, MAIL_DOMAIN_SPANS, MAIL_DOMAIN_TABLE, STREET_SPANS, STREET_TABLE)

_NUMBER_FIRST = [country.language in ("en", "fr") for country in COUNTRIES]  # "12 Main St" vs "Hauptstraße 12"


@dataclass
class People:
    country: np.ndarray   # int8 index into COUNTRIES
    first: np.ndarray     # int32 index into FIRST_NAME_TABLE (a name of the country's language)
    last: np.ndarray      # int32 index into LAST_NAME_TABLE
    city: np.ndarray      # int32 index into CITY_TABLE (a city of the country)
    street: np.ndarray    # int32 index into STREET_TABLE
    house: np.ndarray
    postcode: np.ndarray  # int32 seed of the postcode within the city's range
    phone: np.ndarray     # int64 subscriber number

    def addresses(self, rows: np.ndarray) -> list[dict]:
        """The address parts every platform has, phone included; renderers rename them."""
        firsts = FIRST_NAME_TABLE[self.first[rows]].tolist()
        lasts = LAST_NAME_TABLE[self.last[rows]].tolist()
        streets = STREET_TABLE[self.street[rows]].tolist()
        result = []
        for first, last, street, country_index, city_index, house, postcode, phone in zip(
                firsts, lasts, streets, self.country[rows].tolist(), self.city[rows].tolist(),
                self.house[rows].tolist(), self.postcode[rows].tolist(), self.phone[rows].tolist()):
            country = COUNTRIES[country_index]
            city, province, postcode_base, area = CITY_TABLE[city_index]
            result.append({
                "first_name": first,
                "last_name": last,
                "address1": f"{house} {street}" if _NUMBER_FIRST[country_index] else f"{street} {house}",
                "city": city,
                "zip": country.postcode(postcode_base, postcode),
                "country_code": country.code,
                "province_code": province,
                "phone": country.phone(area, phone),
            })
        return result


@dataclass
class Customers(People):
    id: np.ndarray
    mail_number: np.ndarray   # int32, 0 = no number in the address; makes each address unique
    mail_domain: np.ndarray   # int16 index into MAIL_DOMAIN_TABLE
    has_phone: np.ndarray
    accepts_marketing: np.ndarray
    created: np.ndarray       # int64 epoch

    def emails(self, rows: np.ndarray) -> list[str]:
        return [
            f"{first}.{last}{number or ''}@{domain}"
            for first, last, number, domain in zip(
                FIRST_NAME_ASCII[self.first[rows]].tolist(), LAST_NAME_ASCII[self.last[rows]].tolist(),
                self.mail_number[rows].tolist(), MAIL_DOMAIN_TABLE[self.mail_domain[rows]].tolist())
        ]

    def contact(self, rows: np.ndarray) -> tuple[list[str], list[str | None], list[dict]]:
        """(emails, phones or None, addresses with that phone) of a page's customers."""
        addresses = self.addresses(rows)
        phones = []
        for address, has_phone in zip(addresses, self.has_phone[rows].tolist()):
            if not has_phone:
                address["phone"] = None
            phones.append(address["phone"])
        return self.emails(rows), phones, addresses


def _by_country(spans: dict) -> tuple[np.ndarray, np.ndarray]:
    """(offset, length) in a flat table of each country's entries, keyed by language or country index."""
    keys = [(country.language if isinstance(next(iter(spans)), str) else index)
            for index, country in enumerate(COUNTRIES)]
    return np.array([spans[key][0] for key in keys]), np.array([spans[key][1] for key in keys])


_FIRST, _LAST, _STREET, _CITY, _DOMAIN = (
    _by_country(spans) for spans in (FIRST_NAME_SPANS, LAST_NAME_SPANS, STREET_SPANS, CITY_SPANS, MAIL_DOMAIN_SPANS))


def _pick(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], country: np.ndarray) -> np.ndarray:
    """A uniform index inside each row's country's span of a flat table."""
    offsets, lengths = table[0][country], table[1][country]
    return (offsets + np.floor(rng.random(len(country)) * lengths)).astype(np.int32)


def draw_people(rng: np.random.Generator, size: int, countries: tuple[int, ...]) -> People:
    """People living mostly in the first (home) country, the rest in its neighbours."""
    shares = [0.85] + [0.15 / (len(countries) - 1)] * (len(countries) - 1) if len(countries) > 1 else [1.0]
    country = rng.choice(np.array(countries, dtype=np.int8), size=size, p=shares)
    return People(
        country=country,
        first=_pick(rng, _FIRST, country),
        last=_pick(rng, _LAST, country),
        city=_pick(rng, _CITY, country),
        street=_pick(rng, _STREET, country),
        house=rng.integers(1, 240, size).astype(np.int16),
        postcode=rng.integers(0, 10_000_000, size).astype(np.int32),
        phone=rng.integers(0, 10**9, size),
    )


def _unique_mail_numbers(people: People, mail_domain: np.ndarray) -> np.ndarray:
    """0 for the first holder of a name at a mail domain, 1, 2, ... for the next ones."""
    key = ((FIRST_NAME_ASCII_ID[people.first].astype(np.int64) * len(LAST_NAME_ASCII) +
            LAST_NAME_ASCII_ID[people.last]) * len(MAIL_DOMAIN_TABLE) + MAIL_DOMAIN_ID[mail_domain])
    order = np.argsort(key, kind="stable")
    position = np.arange(len(key))
    starts = np.concatenate([[True], key[order][1:] != key[order][:-1]]) if len(key) else np.zeros(0, bool)
    rank = position - np.maximum.accumulate(np.where(starts, position, 0))
    numbers = np.empty(len(key), dtype=np.int32)
    numbers[order] = rank
    return numbers


def draw_customers(rng: np.random.Generator, size: int, countries: tuple[int, ...], first_id: int) -> Customers:
    """A pool whose `created` is filled in by the generator once orders are assigned."""
    people = draw_people(rng, size, countries)
    mail_domain = _pick(rng, _DOMAIN, people.country).astype(np.int16)
    return Customers(
        **vars(people),
        id=first_id + np.cumsum(rng.integers(1, 4, size)),
        mail_number=_unique_mail_numbers(people, mail_domain),
        mail_domain=mail_domain,
        has_phone=rng.random(size) < 0.7,
        accepts_marketing=rng.random(size) < 0.6,
        created=np.zeros(size, dtype=np.int64),
    )


def orders_per_customer(rng: np.random.Generator, orders: int) -> np.ndarray:
    """How many of the `orders` each customer places: most buy once, a heavy tail keeps coming back.

    The pool is therefore smaller than the order count (about 0.6 customers per order).
    """
    draws = max(16, orders)
    once = rng.random(draws) < 0.8
    again = np.minimum(2 + np.floor(rng.pareto(2.5, draws) * 2), 60).astype(np.int64)
    counts = np.where(once, 1, again)
    pool = int(np.searchsorted(np.cumsum(counts), orders)) + 1
    counts = counts[:pool]
    counts[-1] -= int(counts.sum()) - orders
    return counts


def assign_orders(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Customer of each order (orders are in time order): a customer's orders spread over the window."""
    return rng.permutation(np.repeat(np.arange(len(counts), dtype=np.int32), counts))
