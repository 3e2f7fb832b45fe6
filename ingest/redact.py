"""Personal-data redaction: e-mails, phones, IBANs, BSNs, addresses, cards, handles and names.

Runs on every incoming text before it is stored, so nothing downstream (wall, e-mail) leaks it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.nl import bsn as stdnum_bsn

PLACEHOLDERS: Mapping[str, str] = {
    "email": "[e-mail]",
    "phone": "[telefoon]",
    "iban": "[iban]",
    "bsn": "[bsn]",
    "address": "[adres]",
    "card": "[kaart]",
    "handle": "[@gebruiker]",
    "name": "[naam]",
}

# Claimed characters are overwritten with this in the working copy, so later detectors cannot
# match inside an earlier finding (no double redaction) while offsets stay aligned with the
# original text. NUL is neither a word character, a digit nor whitespace.
_MASK = "\x00"
_PROTECTED = ""  # span kind for URLs: kept verbatim, but hidden from later detectors

# Regions tried for phone numbers without a country code: the Netherlands first, then Belgium.
_PHONE_REGIONS = ("NL", "BE")
# Company service lines (0800, 0900, 088...) are printed on websites, not personal data.
_BUSINESS_PHONE_TYPES = frozenset(
    {
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.UAN,
    }
)


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Latin Extended-A (Ş, ı, Ł, ž...) alternates upper and lower case, so it counts as both.
_UP = "A-ZÀ-ÖØ-ÞĀ-ſ"
_LO = "a-zß-öø-ÿĀ-ſ"

_EMAIL = re.compile(
    # \w, not ASCII: "ayşe@example.com" must go whole. "[at]" and "(at)" are common disguises.
    r"[\w.%+\-]+(?:@|\s?[\[(]at[\])]\s?)[\w\-]+(?:\.[\w\-]+)*\.[A-Za-z]{2,}"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    r"|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:nl|be|com|org|net|eu|io|de|fr|uk|app)\b(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
# Cheap gate before the (comparatively slow) phone matcher: a run of 7+ digits with separators.
_PHONE_HINT = re.compile(r"\d(?:[\s().\-/]{0,3}\d){6,}")

# Candidates are deliberately greedy; the checksum finds the exact extent (see _claim_checked).
_IBAN_CANDIDATE = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){11,32}", re.IGNORECASE
)
# Card numbers start with 2-6 (Mastercard 2-series, Amex/Diners 3, Visa 4, MC/Maestro 5,
# Discover/Maestro 6); excluding 0, 1, 7-9 keeps 00-prefixed phone numbers and dates out.
_CARD_CANDIDATE = re.compile(r"(?<![\w+\-])[2-6]\d{3}(?:[ \-]?\d){9,15}(?!\w)")
_BSN_CANDIDATE = re.compile(r"(?<![\w.,\-+/])\d{3}([. ]?)\d{3}\1\d{3}(?![\w]|[.,\-/]\d)")
# Nine-digit order and ticket numbers pass the 11-check one time in eleven; this context says
# the number is not a BSN.
_BSN_NOT_CONTEXT = re.compile(
    r"\b(?:order|bestel|factuur|invoice|track|zending|pakket|parcel|artikel|ticket|referentie"
    r"|reference|ref|dossier|klantnummer|contract|meter|ean|serie|serial)\w*\W{0,3}(?:nr\.?|nummer"
    r"|number|no\.?|:|#)?\W{0,3}(?:is|was|luidt)?\W{0,3}$",
    re.IGNORECASE,
)

_HOUSE_NUMBER = (
    r"\d{1,4}(?![\d,.:]\d|\d)"
    r"(?:[ ]?[A-Za-z](?![A-Za-z])|[\-/][ ]?\d{1,4}|[ ](?:bis|hs|huis|boven|bus[ ]?\d{1,4})\b)?"
)
_STREET_SUFFIX = (
    r"straat|laan|weg|plein|gracht|kade|dijk|singel|dreef|steeg|steenweg|hof|lei|markt|baan"
    r"|wal|boulevard|plantsoen|vliet|weide"
)
_STREET_PREFIX = (
    r"(?:(?:Oude|Nieuwe|Grote|Kleine|Korte|Lange|Hoge|Lage|Sint|St\.|Burgemeester|Burg\.|Prins"
    r"|Prinses|Koning|Koningin|Dokter|Dr\.|Van|De|Den|Ter|Ten|'t)[ ]+"
    r"(?:(?:van|de|der|den)[ ]+){0,2})"
)
_STREET = (
    rf"(?:{_STREET_PREFIX}{{0,3}}[{_UP}][{_LO}'’\-]*[{_LO}](?:{_STREET_SUFFIX})"
    rf"|{_STREET_PREFIX}{{1,3}}(?:Straat|Laan|Weg|Plein|Markt|Gracht|Kade|Dijk|Singel))"
)
# Letter pairs that follow a four-digit number in ordinary text (units, brands, countries),
# never read as a postcode. SA, SD and SS are not issued as postcode letters at all.
_NOT_POSTCODE_LETTERS = _word_set(
    "sa sd ss ok tv pc eu vs us uk bv nv cd dj gb mb kb tb hd xl xs ai id it hr pr cx ns km kg mm"
    " cm ml pm am dm gt pk kw ev se rs ag be nl de fr lg hp mp fps fm dl vw cc ps mz"
)
_NL_POSTCODE = r"[1-9]\d{3}(?:[ ]?[A-Z]{2}|[a-z]{2})(?![\w])"
_ADDRESS_STREET = re.compile(
    rf"\b{_STREET}[ ]+{_HOUSE_NUMBER}"
    # a Belgian postcode only counts in this address context, with a place name after it
    rf"(?:,?[ ]*(?:{_NL_POSTCODE}|[1-9]\d{{3}}(?=[ ]+[{_UP}])))?"
)
_ADDRESS_POSTCODE = re.compile(
    rf"(?<![\w€$.,\-])(?P<pc>{_NL_POSTCODE})"
    rf"(?:,?[ ]*(?:(?i:huisnummer|huisnr|nummer|nr|no)\.?[ ]*)?{_HOUSE_NUMBER})?"
)
_ADDRESS_ENGLISH = re.compile(
    rf"\b\d{{1,4}}[A-Za-z]?[ ]+(?:[{_UP}][{_LO}]+[ ]+){{1,3}}"
    r"(?:Street|St\.|Road|Rd\.|Avenue|Ave\.|Lane|Drive|Close|Court|Crescent|Terrace|Square)(?!\w)"
)

# \w rather than X's ASCII set: "@ayşe_v" must go whole, not leave "şe_v" behind.
_HANDLE = re.compile(r"(?<![\w@\[])@(\w(?:[\w.]*\w)?)")

# Names: a lead-in phrase (kept) followed by one to four capitalised tokens with particles.
_TOKEN = (
    rf"(?:[{_UP}][{_LO}]+(?:[{_UP}][{_LO}]+)?(?:[\-'’][{_UP}]?[{_LO}]+)*"  # Jan, McKay, Anne-Marie
    rf"|[{_UP}]'[{_UP}][{_LO}]+"  # O'Brien
    rf"|[{_UP}]\.)"  # an initial: J.
)
_PARTICLE = r"(?:[vV]an|[dD]e|[dD]er|[dD]en|[tT]en|[tT]er|te|het|'t|la|le|da|di|du|dos|von)"
_NAME = rf"{_TOKEN}(?:[ ]+(?:{_PARTICLE}[ ]+){{0,3}}{_TOKEN}){{0,3}}"
_NAME_AFTER_TITLE = rf"(?:{_PARTICLE}[ ]+){{0,3}}{_NAME}"
_SPEAKING = r"(?:u|je|jij) (?:spreekt|chat|bent in gesprek)|you(?: are|'re) (?:speaking|chatting)"
_INTRO = (
    r"mijn naam is|m'n naam is|ik heet|ik ben|naam:?|name:|my name is|my name's"
    rf"|(?:{_SPEAKING})(?: nu| now)? (?:met|with|to)|you're talking to|you are talking to"
    r"|(?:contact|contact opnemen|gesproken|gebeld|gechat|gemaild) met|complimenten (?:aan|voor)"
    r"|(?:spoke|spoken|talked|chatted) (?:to|with)|compliments to|thanks to|shout-?out to"
)
# People named by their role or relation: "monteur Kees Jansen", "mijn schoonvader (Jan Bos)".
_ROLE = (
    r"monteur|collega|medewerker|medewerkster|bezorger|bezorgster|chauffeur|agent|adviseur"
    r"|adviseuse|teamleider|leidinggevende|man|vrouw|vriend|vriendin|zoon|dochter|moeder|vader"
    r"|schoonvader|schoonmoeder|opa|oma|buurman|buurvrouw|partner|echtgenoot|echtgenote"
    r"|technician|engineer|colleague|driver|courier|husband|wife|son|daughter|mother|father"
    r"|mum|mom|dad|neighbour|neighbor|boyfriend|girlfriend"
)
_SIGNOFF = (
    r"(?:met )?vriendelijke groet(?:en)?|(?:met )?hartelijke groet(?:en)?|groet(?:en|jes)?"
    r"|gr\.?|mvg\.?|m\.v\.g\.?|liefs|doei|(?:kind |best |warm |many )?regards|cheers"
    r"|best wishes|(?:yours )?sincerely|yours truly|alvast bedankt|thanks in advance"
)
# The name sits on the sign-off's line or a line or two below it.
_SIGNOFF_GAP = r"(?:[,.!]?[ ]+|[,.!]?[ ]*(?:\n[ ]*){1,3})"
_GREETING = r"beste|geachte|hoi|hallo|hey|hi|hello|dear|goedemorgen|goedemiddag|goedenavond|dag"
_TITLE_NL = r"meneer|mevrouw|mevr\.|mw\.|dhr\.|de heer|heer"
_TITLE_EN = r"Mr\.?|Mrs\.?|Ms\.?|Dr\."
# A greeting opens a text, a line, a sentence, or a turn after a speaker label ("Agent: Hoi").
_OPENING = r"(?:^|(?<=[.!?][ ])|(?<=:[ ]))[ ]*"
# These lead-ins also introduce non-names ("this is Amazon-level service", "met Voltera
# geregeld"), so the name must be followed by what the pattern's trailer says.
_AFTER_INTRODUCTION = re.compile(
    r"[ ]*(?:[,.!?;:)]|$|\n|(?:from|of|at|with|here|speaking|van|namens|bij|hier)\b)"
)
_AFTER_CONTACT = re.compile(r"[ ]+(?:gesproken|gebeld|gechat|gemaild|afgesproken)\b")
# Tweets skip punctuation ("een andere medewerker Schiet eens op!"), so one capitalised word
# after a role is a name only when a verb or punctuation follows; a full name needs no proof.
_AFTER_ROLE = re.compile(
    r"[ ]*(?:[,.!?;:)]|$|\n)|[ ]+(?:heeft|had|is|was|zei|zegt|kwam|komt|belde|belt|hielp|helpt"
    r"|deed|zou|gaf|wilde|kon|kan|moest|liet|stond|ging|van|die|en|has|said|says|came|called"
    r"|helped|did|would|could|gave|told|from|who|and)\b"
)


class _NameRule(NamedTuple):
    pattern: re.Pattern[str]
    trailer: re.Pattern[str] | None = None  # what must follow the name, if anything
    full_name_suffices: bool = False  # two or more capitalised tokens need no trailer


_NAME_RULES: tuple[_NameRule, ...] = (
    _NameRule(re.compile(rf"\b(?i:{_INTRO})[ ]+(?P<name>{_NAME})")),
    _NameRule(
        re.compile(rf"\b(?i:this is|hier is|i'm|i am)[ ]+(?P<name>{_NAME})"), _AFTER_INTRODUCTION
    ),
    _NameRule(re.compile(rf"\b(?i:met)[ ]+(?P<name>{_NAME})"), _AFTER_CONTACT),
    _NameRule(re.compile(rf"\b(?i:{_ROLE})[ ]+\(?(?P<name>{_NAME})"), _AFTER_ROLE, True),
    _NameRule(re.compile(rf"\b(?i:{_SIGNOFF}){_SIGNOFF_GAP}(?P<name>{_NAME})")),
    _NameRule(
        re.compile(
            rf"{_OPENING}(?i:{_GREETING})[ ,]+(?:(?i:met)[ ]+)?"
            rf"(?:(?i:{_TITLE_NL})[ ]+|(?:{_TITLE_EN})[ ]+)?(?P<name>{_NAME})",
            re.MULTILINE,
        )
    ),
    _NameRule(
        re.compile(rf"(?:\b(?i:{_TITLE_NL})|\b(?:{_TITLE_EN}))[ ]+(?P<name>{_NAME_AFTER_TITLE})")
    ),
)
_NAME_PART = re.compile(rf"{_TOKEN}|{_PARTICLE}")
_PARTICLE_ONLY = re.compile(rf"{_PARTICLE}")
_TOKEN_ONLY = re.compile(rf"(?<![\w'’\-]){_TOKEN}")
# Capitalised words that follow a lead-in but are not names ("ik ben Klant sinds 2019",
# "Hallo Team"); compared lower-case. Brand words from the handles are added per Redactor.
_NOT_NAMES = _word_set(
    """
    ik jij je u hij zij ze wij we jullie het de een en maar want dus ook niet wel geen nog al er
    daar hier dit dat die deze van voor met op in aan bij na om tot uit over zeer erg heel echt zo
    blij boos klant klanten klantenservice klantendienst support team medewerker medewerkers
    allemaal iedereen allen nederlander nederlands belg belgisch vlaams vlaming dag goedemorgen
    goedemiddag goedenavond bedankt dank groet groeten graag sorry excuses helaas vandaag gisteren
    morgen maandag dinsdag woensdag donderdag vrijdag zaterdag zondag januari februari maart april
    mei juni juli augustus september oktober november december hallo hoi mvg namens via nieuwe
    oude vaste trouwe eigenaar abonnee student particulier zakelijk bezig benieuwd teleurgesteld
    tevreden ontevreden woedend klaar thuis onderweg
    i you he she they it the a an and but so not very really just also there this that from of at
    with to for on all everyone everybody folks guys customer customers service happy sad angry
    sorry thanks thank hello hi dear monday tuesday wednesday thursday friday saturday sunday
    january february march may june july august october november dutch british belgian english
    american german french afraid sure glad new still ok okay done back disappointed furious
    frustrated tired here waiting
    """
)

_EXTRA_KIND = re.compile(r"[^\s\[\]]+")


class RedactionConfigError(ValueError):
    """A configured redaction pattern is unusable; the message says which one and why."""


@dataclass(frozen=True)
class Redaction:
    """A message text with personal data replaced by placeholders such as ``[telefoon]``."""

    text: str
    # One kind per replaced piece, in text order: len(found) is the number of redactions.
    found: tuple[str, ...]


class _Work:
    """The original text, a masked working copy, and the spans claimed so far."""

    __slots__ = ("masked", "original", "spans")

    def __init__(self, text: str) -> None:
        self.original = text
        self.masked = text
        self.spans: list[tuple[int, int, str]] = []

    def claim(self, start: int, end: int, kind: str) -> bool:
        if start >= end or _MASK in self.masked[start:end]:
            return False
        self.masked = self.masked[:start] + _MASK * (end - start) + self.masked[end:]
        self.spans.append((start, end, kind))
        return True


def _token_ends(candidate: str) -> list[int]:
    """Offsets where an alphanumeric run ends inside a candidate, longest first."""
    ends = [
        i + 1
        for i, ch in enumerate(candidate)
        if ch.isalnum() and (i + 1 == len(candidate) or not candidate[i + 1].isalnum())
    ]
    return ends[::-1]


class Redactor:
    """Replaces personal data in message texts; build once, call `redact` per message."""

    def __init__(
        self,
        *,
        brand_handles: Iterable[str] = (),
        extra_patterns: Mapping[str, str] | None = None,
    ) -> None:
        self._brand_handles = frozenset(h.lower().lstrip("@") for h in brand_handles if h)
        # "@voltera_nl" also makes "Voltera" a brand word, so "Hallo Voltera," keeps it.
        brand_words = {
            part for handle in self._brand_handles for part in re.split(r"[_.]", handle) if part
        }
        self._not_names = _NOT_NAMES | brand_words
        self._extra: list[tuple[str, re.Pattern[str]]] = []
        for kind, pattern in (extra_patterns or {}).items():
            if not _EXTRA_KIND.fullmatch(kind):
                raise RedactionConfigError(
                    f"redaction pattern kind {kind!r} must be one word without brackets"
                )
            try:
                self._extra.append((kind, re.compile(pattern)))
            except re.error as exc:
                raise RedactionConfigError(
                    f"redaction pattern {kind!r} is not a valid regular expression: {exc}"
                ) from exc
        self._placeholders = {
            **PLACEHOLDERS,
            **{kind: f"[{kind}]" for kind, _ in self._extra},
        }

    def redact(self, text: str) -> Redaction:
        if not text:
            return Redaction(text=text, found=())
        work = _Work(text)
        # Order matters: configured identifiers are the most specific; e-mails contain "@"
        # (handles) and digits; URLs are shielded; IBANs and cards contain digit runs that
        # would otherwise read as phones or BSNs; names come last and only see what is left.
        for kind, pattern in self._extra:
            for m in pattern.finditer(work.masked):
                work.claim(m.start(), m.end(), kind)
        if "@" in text or "at]" in text or "at)" in text:
            for m in _EMAIL.finditer(work.masked):
                work.claim(m.start(), m.end(), "email")
        if "." in text:
            for m in _URL.finditer(work.masked):
                work.claim(m.start(), m.end(), _PROTECTED)
        if _DIGIT.search(text):
            self._numbers(work)
        if "@" in text:
            self._handles(work)
        self._names(work)
        return self._render(work)

    def _numbers(self, work: _Work) -> None:
        _claim_checked(work, _IBAN_CANDIDATE, "iban", stdnum_iban.is_valid)
        _claim_checked(work, _CARD_CANDIDATE, "card", _is_card)
        if _PHONE_HINT.search(work.masked):
            for region in _PHONE_REGIONS:
                for match in PhoneNumberMatcher(work.masked, region, leniency=Leniency.VALID):
                    # A bare digit run ("612345678") is far more often a BSN or order number
                    # than a number someone dials; customers write the 0 or the +.
                    if not match.raw_string.lstrip("(").startswith(("0", "+")):
                        continue
                    if phonenumbers.number_type(match.number) in _BUSINESS_PHONE_TYPES:
                        continue
                    work.claim(match.start, match.end, "phone")
        for m in _BSN_CANDIDATE.finditer(work.masked):
            if stdnum_bsn.is_valid(m.group()) and not _BSN_NOT_CONTEXT.search(
                work.masked, max(0, m.start() - 40), m.start()
            ):
                work.claim(m.start(), m.end(), "bsn")
        for m in _ADDRESS_STREET.finditer(work.masked):
            work.claim(m.start(), m.end(), "address")
        for m in _ADDRESS_POSTCODE.finditer(work.masked):
            letters = m.group("pc")[-2:].lower()
            if letters not in _NOT_POSTCODE_LETTERS:
                work.claim(m.start(), m.end(), "address")
        for m in _ADDRESS_ENGLISH.finditer(work.masked):
            work.claim(m.start(), m.end(), "address")

    def _handles(self, work: _Work) -> None:
        for m in _HANDLE.finditer(work.masked):
            if m.group(1).lower() not in self._brand_handles:
                work.claim(m.start(), m.end(), "handle")

    def _names(self, work: _Work) -> None:
        for rule in _NAME_RULES:
            for m in rule.pattern.finditer(work.masked):
                start, end = self._trim_name(work.masked, m.start("name"), m.end("name"))
                if start == end or not self._followed_as_required(rule, work.masked, start, end):
                    continue
                work.claim(start, end, "name")

    @staticmethod
    def _followed_as_required(rule: _NameRule, text: str, start: int, end: int) -> bool:
        if rule.trailer is None or rule.trailer.match(text, end):
            return True
        return rule.full_name_suffices and len(_TOKEN_ONLY.findall(text, start, end)) >= 2

    def _trim_name(self, text: str, start: int, end: int) -> tuple[int, int]:
        """Shrink a name candidate to its real name tokens; (start, start) when none remain."""
        parts = list(_NAME_PART.finditer(text, start, end))
        # Particles belong to a surname only when a capitalised token follows them.
        while parts and (
            _PARTICLE_ONLY.fullmatch(parts[-1].group()) or self._is_not_name(parts[-1].group())
        ):
            parts.pop()
        first = next((p for p in parts if not _PARTICLE_ONLY.fullmatch(p.group())), None)
        if first is None or self._is_not_name(first.group()):
            return start, start
        return parts[0].start(), parts[-1].end()

    def _is_not_name(self, token: str) -> bool:
        # "Voltera-klant" is a brand compound, "Anne-Marie" a name: judge by the first part.
        return token.lower().split("-")[0] in self._not_names

    def _render(self, work: _Work) -> Redaction:
        spans = sorted(s for s in work.spans if s[2] != _PROTECTED)
        if not spans:
            return Redaction(text=work.original, found=())
        pieces: list[str] = []
        found: list[str] = []
        cursor = 0
        for start, end, kind in spans:
            pieces.append(work.original[cursor:start])
            pieces.append(self._placeholders[kind])
            cursor = end
            found.append(kind)
        pieces.append(work.original[cursor:])
        return Redaction(text="".join(pieces), found=tuple(found))


def _claim_checked(
    work: _Work, candidate: re.Pattern[str], kind: str, valid: Callable[[str], bool]
) -> None:
    """Claim checksum-valid numbers; candidates are greedy, so trim them to a valid prefix."""
    pos = 0
    while m := candidate.search(work.masked, pos):
        pos = m.start() + 1
        # The candidate may have swallowed following words or digit groups (even a second
        # IBAN); take the longest prefix ending on a token boundary whose checksum holds.
        for end in _token_ends(m.group()):
            if valid(m.group()[:end]):
                work.claim(m.start(), m.start() + end, kind)
                pos = m.start() + end
                break


def _is_card(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)
