"""Names, places, phone and postcode formats, tax rates: what makes a customer look local.

Customers are stored as small integer codes into these tables; strings are built only for the
rows of the page being served.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

FIRST_NAMES = {
    "en": ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
           "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
           "Sarah", "Chris", "Karen", "Daniel", "Emily", "Matthew", "Ashley", "Andrew", "Olivia"],
    "de": ["Lukas", "Anna", "Leon", "Lea", "Finn", "Hannah", "Jonas", "Mia", "Paul", "Lena",
           "Felix", "Sophie", "Maximilian", "Laura", "Jürgen", "Katrin", "Stefan", "Sabine",
           "Tobias", "Julia", "Moritz", "Jana", "Sebastian", "Claudia", "Uwe", "Anja"],
    "fr": ["Louis", "Camille", "Gabriel", "Léa", "Hugo", "Chloé", "Arthur", "Manon", "Jules",
           "Inès", "Lucas", "Sarah", "Théo", "Juliette", "Nathan", "Zoé", "Mathis", "Élodie",
           "Antoine", "Margaux", "Julien", "Céline", "Pierre", "Amélie", "Nicolas", "Océane"],
    "nl": ["Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Bram", "Sophie", "Thijs", "Anna",
           "Jesse", "Fleur", "Ruben", "Sanne", "Lars", "Eva", "Niels", "Lotte", "Joris", "Femke"],
    "it": ["Francesco", "Giulia", "Alessandro", "Sofia", "Lorenzo", "Aurora", "Matteo", "Ginevra",
           "Leonardo", "Chiara", "Marco", "Martina", "Andrea", "Francesca", "Luca", "Elena"],
    "es": ["Hugo", "Lucía", "Martín", "Sofía", "Pablo", "María", "Alejandro", "Paula", "Daniel",
           "Valeria", "Javier", "Carmen", "Sergio", "Laura", "Diego", "Elena", "Álvaro", "Marta"],
}
LAST_NAMES = {
    "en": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson",
           "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White",
           "Harris", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
           "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
           "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
           "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
           "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier"],
    "nl": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
           "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
           "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa"],
    "es": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez",
           "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz"],
}
STREETS = {
    "en": ["Main St", "Oak Ave", "Maple St", "Cedar Ln", "Park Ave", "Pine St", "Washington St",
           "Lake Dr", "Hill Rd", "Elm St", "Church St", "High St"],
    "de": ["Hauptstraße", "Schulstraße", "Gartenstraße", "Bahnhofstraße", "Dorfstraße",
           "Bergstraße", "Lindenstraße", "Kirchweg", "Am Markt", "Birkenweg", "Rosenstraße"],
    "fr": ["rue de la Paix", "avenue Victor Hugo", "rue Pasteur", "boulevard Voltaire",
           "rue des Lilas", "rue Jean Jaurès", "place de la République", "rue du Moulin",
           "chemin des Vignes", "rue de la Gare"],
    "nl": ["Kerkstraat", "Dorpsstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Parallelweg",
           "Julianastraat", "Beatrixlaan"],
    "it": ["Via Roma", "Via Garibaldi", "Corso Italia", "Via Mazzini", "Via Dante", "Via Verdi",
           "Piazza della Repubblica", "Via Cavour"],
    "es": ["Calle Mayor", "Calle Real", "Avenida de la Constitución", "Calle del Sol",
           "Plaza de España", "Calle Nueva", "Calle de Alcalá", "Paseo del Prado"],
}
# Names go into e-mail addresses; mail local parts are ASCII.
_ASCII = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "ê": "e",
                        "à": "a", "á": "a", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ç": "c",
                        "ï": "i", "î": "i", "ô": "o", " ": "", "'": ""})




def _ascii_lower(name: str) -> str:
    return name.lower().translate(_ASCII)


@dataclass(frozen=True)
class Country:
    code: str
    language: str
    cities: tuple[tuple[str, str | None, str, str], ...]  # (city, province code, postcode base, phone area)
    postcode: Callable[[str, int], str]
    phone: Callable[[str, int], str]
    tax_basis_points: int
    mail_domains: tuple[str, ...]


def _digits(number: int, width: int) -> str:
    return f"{number % 10 ** width:0{width}d}"


def _letters(number: int, count: int) -> str:
    return "".join(chr(ord("A") + (number // 26 ** k) % 26) for k in range(count))


def _numeric_postcode(width: int) -> Callable[[str, int], str]:
    return lambda base, n: f"{int(base) + n % 90:0{width}d}"


def _north_american_phone(area: str, n: int) -> str:
    digits = _digits(n, 7)
    return f"+1 {area}-{digits[:3]}-{digits[3:]}"


def _grouped_phone(prefix: str, width: int) -> Callable[[str, int], str]:
    return lambda area, n: f"{prefix} {area} {_digits(n, width)}"


def _french_phone(area: str, n: int) -> str:
    digits = _digits(n, 8)
    return f"+33 {area} {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"


COUNTRIES: tuple[Country, ...] = (
    Country("US", "en", (("New York", "NY", "10001", "212"), ("Brooklyn", "NY", "11201", "718"),
                         ("Boston", "MA", "02108", "617"), ("Philadelphia", "PA", "19103", "215"),
                         ("Chicago", "IL", "60601", "312"), ("Atlanta", "GA", "30303", "404"),
                         ("Miami", "FL", "33101", "305"), ("Austin", "TX", "78701", "512"),
                         ("Denver", "CO", "80202", "303"), ("Seattle", "WA", "98101", "206"),
                         ("Los Angeles", "CA", "90012", "213"), ("Newark", "NJ", "07102", "973")),
            _numeric_postcode(5), _north_american_phone, 700,
            ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "hotmail.com")),
    Country("CA", "en", (("Toronto", "ON", "M5V", "416"), ("Ottawa", "ON", "K1P", "613"),
                         ("Montreal", "QC", "H2Y", "514"), ("Vancouver", "BC", "V6B", "604")),
            lambda base, n: f"{base} {n % 10}{_letters(n // 10, 1)}{(n // 260) % 10}",
            _north_american_phone, 1300, ("gmail.com", "outlook.com", "yahoo.ca", "rogers.com")),
    Country("DE", "de", (("Berlin", None, "10115", "30"), ("Hamburg", None, "20095", "40"),
                         ("München", None, "80331", "89"), ("Köln", None, "50667", "221"),
                         ("Frankfurt am Main", None, "60311", "69"), ("Stuttgart", None, "70173", "711"),
                         ("Leipzig", None, "04109", "341"), ("Düsseldorf", None, "40213", "211")),
            _numeric_postcode(5), _grouped_phone("+49", 7), 1900,
            ("gmx.de", "web.de", "t-online.de", "gmail.com", "outlook.de", "posteo.de")),
    Country("AT", "de", (("Wien", None, "1010", "1"), ("Graz", None, "8010", "316"),
                         ("Linz", None, "4020", "732"), ("Salzburg", None, "5020", "662")),
            _numeric_postcode(4), _grouped_phone("+43", 7), 2000, ("gmx.at", "gmail.com", "aon.at")),
    Country("CH", "de", (("Zürich", None, "8001", "44"), ("Basel", None, "4051", "61"),
                         ("Bern", None, "3011", "31")),
            _numeric_postcode(4), _grouped_phone("+41", 7), 810, ("bluewin.ch", "gmail.com", "gmx.ch")),
    Country("NL", "nl", (("Amsterdam", None, "1012", "20"), ("Rotterdam", None, "3011", "10"),
                         ("Utrecht", None, "3511", "30"), ("Den Haag", None, "2511", "70")),
            lambda base, n: f"{int(base) + n % 90:04d} {_letters(n // 90, 2)}",
            _grouped_phone("+31", 7), 2100, ("gmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com")),
    Country("FR", "fr", (("Paris", None, "75001", "1"), ("Lyon", None, "69001", "4"),
                         ("Marseille", None, "13001", "4"), ("Toulouse", None, "31000", "5"),
                         ("Bordeaux", None, "33000", "5"), ("Lille", None, "59000", "3"),
                         ("Nantes", None, "44000", "2"), ("Strasbourg", None, "67000", "3")),
            _numeric_postcode(5), _french_phone, 2000,
            ("orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "hotmail.fr")),
    Country("BE", "fr", (("Bruxelles", None, "1000", "2"), ("Liège", None, "4000", "4"),
                         ("Namur", None, "5000", "81")),
            _numeric_postcode(4), _grouped_phone("+32", 6), 2100, ("skynet.be", "gmail.com", "telenet.be")),
    Country("IT", "it", (("Milano", "MI", "20121", "02"), ("Roma", "RM", "00184", "06"),
                         ("Torino", "TO", "10121", "011"), ("Bologna", "BO", "40121", "051")),
            _numeric_postcode(5), _grouped_phone("+39", 7), 2200, ("libero.it", "gmail.com", "virgilio.it")),
    Country("ES", "es", (("Madrid", "M", "28001", "91"), ("Barcelona", "B", "08001", "93"),
                         ("Valencia", "V", "46001", "96"), ("Sevilla", "SE", "41001", "95")),
            _numeric_postcode(5), _grouped_phone("+34", 7), 2100, ("gmail.com", "hotmail.es", "telefonica.net")),
    Country("GB", "en", (("London", None, "SW1A", "20"), ("Manchester", None, "M1", "161"),
                         ("Bristol", None, "BS1", "117"), ("Leeds", None, "LS1", "113")),
            lambda base, n: f"{base} {n % 10}{_letters(n // 10, 2)}",
            _grouped_phone("+44", 7), 2000, ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk")),
)
COUNTRY_INDEX = {country.code: index for index, country in enumerate(COUNTRIES)}

# Where a store's customers live: its home market first, then the neighbours it ships to.
_HOME_BY_ZONE = {
    "America/New_York": "US", "America/Chicago": "US", "America/Denver": "US",
    "America/Los_Angeles": "US", "America/Toronto": "CA", "America/Vancouver": "CA",
    "Europe/Berlin": "DE", "Europe/Vienna": "AT", "Europe/Zurich": "CH", "Europe/Amsterdam": "NL",
    "Europe/Paris": "FR", "Europe/Brussels": "BE", "Europe/Rome": "IT", "Europe/Madrid": "ES",
    "Europe/London": "GB",
}
_NEIGHBOURS = {
    "US": ("CA",), "CA": ("US",), "DE": ("AT", "CH", "NL", "FR"), "AT": ("DE", "CH", "IT"),
    "CH": ("DE", "AT", "FR"), "NL": ("BE", "DE"), "FR": ("BE", "DE", "ES", "IT"),
    "BE": ("FR", "NL", "DE"), "IT": ("FR", "AT", "CH"), "ES": ("FR", "IT"), "GB": ("FR", "NL"),
}


def _flatten(lists: dict) -> tuple[np.ndarray, dict]:
    """One object array of every language's entries, and each language's (offset, length) in it."""
    flat, spans = [], {}
    for language, names in lists.items():
        spans[language] = (len(flat), len(names))
        flat.extend(names)
    return np.array(flat, dtype=object), spans


# People store indices into these flat tables, so a page looks names up with one fancy index.
FIRST_NAME_TABLE, FIRST_NAME_SPANS = _flatten(FIRST_NAMES)
LAST_NAME_TABLE, LAST_NAME_SPANS = _flatten(LAST_NAMES)
STREET_TABLE, STREET_SPANS = _flatten(STREETS)
FIRST_NAME_ASCII = np.array([_ascii_lower(name) for name in FIRST_NAME_TABLE], dtype=object)
LAST_NAME_ASCII = np.array([_ascii_lower(name) for name in LAST_NAME_TABLE], dtype=object)
# The same ASCII name from two languages ("Lucas", "Martin") is the same in an e-mail address.
FIRST_NAME_ASCII_ID = np.unique(FIRST_NAME_ASCII, return_inverse=True)[1]
LAST_NAME_ASCII_ID = np.unique(LAST_NAME_ASCII, return_inverse=True)[1]
MAIL_DOMAIN_TABLE, MAIL_DOMAIN_SPANS = _flatten({index: list(country.mail_domains)
                                                  for index, country in enumerate(COUNTRIES)})
MAIL_DOMAIN_ID = np.unique(MAIL_DOMAIN_TABLE, return_inverse=True)[1]  # gmail.com is one domain everywhere
CITY_COUNTRY = np.array([index for index, country in enumerate(COUNTRIES) for _ in country.cities])
CITY_SPANS = {index: (int(np.searchsorted(CITY_COUNTRY, index)), len(country.cities))
              for index, country in enumerate(COUNTRIES)}
CITY_TABLE = [city for country in COUNTRIES for city in country.cities]


def market_countries(timezone_name: str) -> tuple[int, ...]:
    """Country indices a store sells to, its home country first."""
    home = _HOME_BY_ZONE.get(timezone_name, "US")
    return tuple(COUNTRY_INDEX[code] for code in (home, *_NEIGHBOURS[home]))
