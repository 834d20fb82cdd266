"""FDI tooth numbering, surfaces, finding kinds and which dentition a patient has (pure rules).

FDI (ISO 3950): the first digit is the quadrant — 1 upper right, 2 upper left, 3 lower left,
4 lower right for permanent teeth; 5–8 the same for primary teeth — the second digit the
position counted from the midline (permanent 1–8, primary 1–5). "Right" is the patient's.
"""
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from portal.services import ServiceError

PERMANENT = tuple(q * 10 + n for q in (1, 2, 3, 4) for n in range(1, 9))
PRIMARY = tuple(q * 10 + n for q in (5, 6, 7, 8) for n in range(1, 6))
ALL_TEETH = frozenset(PERMANENT + PRIMARY)

# Typical eruption ages in years (upper, lower) by position; the chart shows what the patient
# has at their age unless the record says otherwise (eruption, extraction, retained tooth).
PERMANENT_ERUPTS = {1: (7, 6), 2: (8, 7), 3: (11, 9), 4: (10, 10), 5: (11, 11), 6: (6, 6), 7: (12, 12),
                    8: (18, 18)}
PRIMARY_ERUPTS = {1: (0.8, 0.6), 2: (1.0, 1.1), 3: (1.6, 1.7), 4: (1.3, 1.3), 5: (2.3, 2.1)}

FULLWIDTH_DIGITS = {0xFF10 + d: str(d) for d in range(10)}  # typed with a Chinese input method
SURFACE_LETTERS = "MOIDBL"
SURFACE_ALIASES = {"F": "B", "V": "B", "P": "L"}  # facial/vestibular = buccal, palatal = lingual
SURFACE_LABELS = {"M": _l("mesial"), "O": _l("occlusal"), "I": _l("incisal"), "D": _l("distal"),
                  "B": _l("buccal / labial"), "L": _l("lingual / palatal")}


@dataclass(frozen=True)
class Kind:
    label: object
    letter: str          # shown on the chart with the colour, so colour is never the only cue
    surfaces: bool       # recorded by surface (M, O/I, D, B/L) rather than for the whole tooth
    dentition: str = ""  # how it changes which tooth the chart shows: present / absent / unerupted


KINDS = {
    "caries": Kind(_l("Caries"), "C", True),
    "filling": Kind(_l("Filling"), "F", True),
    "sealant": Kind(_l("Sealant"), "S", True),
    "fracture": Kind(_l("Fracture"), "Fx", True),
    "wear": Kind(_l("Wear / abrasion"), "W", True),
    "crown": Kind(_l("Crown"), "Cr", False, "present"),
    "veneer": Kind(_l("Veneer"), "V", False, "present"),
    "bridge_abutment": Kind(_l("Bridge abutment"), "Ab", False, "present"),
    "bridge_pontic": Kind(_l("Bridge pontic"), "Po", False, "absent"),
    "root_canal": Kind(_l("Root-canal treated"), "RCT", False, "present"),
    "implant": Kind(_l("Implant"), "Im", False, "present"),
    "periapical": Kind(_l("Periapical lesion"), "PA", False, "present"),
    "mobility": Kind(_l("Mobility"), "Mo", False, "present"),
    "extraction": Kind(_l("Extraction"), "Ex", False, "absent"),
    "missing": Kind(_l("Missing"), "X", False, "absent"),
    "erupted": Kind(_l("Erupted"), "E", False, "present"),
    "unerupted": Kind(_l("Unerupted / impacted"), "U", False, "unerupted"),
    "watch": Kind(_l("Watch"), "W?", False),
}
STATUS_LABELS = {"existing": _l("Existing"), "planned": _l("Planned"), "done": _l("Done")}
STATUS_MARKS = {"existing": "", "planned": "○", "done": "✓"}  # shape cue next to the letter


def is_primary(tooth: int) -> bool:
    return tooth in PRIMARY


def is_anterior(tooth: int) -> bool:
    return tooth % 10 <= 3


def is_upper(tooth: int) -> bool:
    return tooth // 10 in (1, 2, 5, 6)


def valid_tooth(value) -> int:
    """The tooth number as an int, or a ServiceError that says what is wrong with it."""
    text = str(value).strip().translate(FULLWIDTH_DIGITS) if value is not None else ""
    if not (len(text) == 2 and text.isascii() and text.isdigit()):
        raise ServiceError(_l("A tooth number has two digits in FDI notation, such as 11 or 75."), field="tooth")
    tooth = int(text)
    if tooth in ALL_TEETH:
        return tooth
    quadrant, position = divmod(tooth, 10)
    if 5 <= quadrant <= 8 and position > 5:
        raise ServiceError(_l("Tooth %(n)s does not exist: primary quadrants have teeth 1 to 5.", n=text),
                           field="tooth")
    raise ServiceError(_l("Tooth %(n)s is not an FDI tooth: use 11–18, 21–28, 31–38, 41–48 (permanent) or "
                          "51–55, 61–65, 71–75, 81–85 (primary).", n=text), field="tooth")


def valid_surfaces(tooth: int, value: str, kind: str) -> str:
    """Canonical surface letters (order M O I D B L) for this tooth and kind, or a clear refusal."""
    letters = "".join((value or "").upper().split()).replace(",", "")
    if not KINDS[kind].surfaces:
        if letters:
            raise ServiceError(_l("%(kind)s is recorded for the whole tooth, without surfaces.",
                                  kind=KINDS[kind].label), field="surfaces")
        return ""
    found = set()
    for ch in letters:
        ch = SURFACE_ALIASES.get(ch, ch)
        if ch not in SURFACE_LETTERS:
            raise ServiceError(_l("%(s)s is not a tooth surface: use M, O, I, D, B (or F) and L (or P).", s=ch),
                               field="surfaces")
        if ch == "O" and is_anterior(tooth):
            raise ServiceError(_l("Tooth %(n)d is a front tooth: its biting edge is I (incisal), not O.", n=tooth),
                               field="surfaces")
        if ch == "I" and not is_anterior(tooth):
            raise ServiceError(_l("Tooth %(n)d is a back tooth: its biting surface is O (occlusal), not I.",
                                  n=tooth), field="surfaces")
        found.add(ch)
    if not found:
        raise ServiceError(_l("Choose at least one surface for %(kind)s.", kind=KINDS[kind].label),
                           field="surfaces")
    return "".join(ch for ch in SURFACE_LETTERS if ch in found)


def valid_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ServiceError(_l("Choose a finding from the list."), field="kind")
    return kind


def valid_grade(kind: str, grade) -> int | None:
    if kind != "mobility":
        return None
    try:
        value = int(grade)
    except (TypeError, ValueError):
        value = -1
    if value not in (1, 2, 3):
        raise ServiceError(_l("Mobility is graded 1, 2 or 3."), field="grade")
    return value


def age_years(birth_date: date, on: date) -> float:
    return (on - birth_date).days / 365.25


def successor(primary: int) -> int:
    """The permanent tooth that replaces a primary one (55 → 15, 75 → 35)."""
    return (primary // 10 - 4) * 10 + primary % 10


def predecessor(permanent: int) -> int | None:
    return (permanent // 10 + 4) * 10 + permanent % 10 if permanent % 10 <= 5 else None


def _erupts(tooth: int) -> float:
    table = PRIMARY_ERUPTS if is_primary(tooth) else PERMANENT_ERUPTS
    upper, lower = table[tooth % 10]
    return upper if is_upper(tooth) else lower


@dataclass
class Slot:
    tooth: int
    state: str  # present / absent (missing, extracted) / unerupted (recorded, shown dashed)


def dentition(birth_date: date, on: date, history: dict[int, list[str]]) -> dict[int, Slot]:
    """Which tooth the chart shows at each position, keyed by the permanent position number
    (11–48). `history` maps a tooth to the kinds recorded for it (oldest first, in effect on `on`).
    A position with no tooth yet (an infant, a second molar not erupted) is left out."""
    age = age_years(birth_date, on)

    def state(tooth):  # the latest kind that says something about presence
        for kind in reversed(history.get(tooth, [])):
            if KINDS[kind].dentition:
                return KINDS[kind].dentition
        return "present" if history.get(tooth) else ""

    slots = {}
    for perm in PERMANENT:
        prim = predecessor(perm)
        ps, qs = state(perm), state(prim) if prim else ""
        if ps in ("present", "absent"):
            slots[perm] = Slot(perm, ps)
        elif prim and qs == "present":
            slots[perm] = Slot(prim, "present")  # a primary tooth on record (retained or not yet shed)
        elif ps != "unerupted" and age >= _erupts(perm):
            slots[perm] = Slot(perm, "present")
        elif prim and qs == "absent":
            slots[perm] = Slot(prim, "absent")  # lost early; its successor is not through yet
        elif prim and age >= _erupts(prim):
            slots[perm] = Slot(prim, "present")
        elif ps == "unerupted":
            slots[perm] = Slot(perm, "unerupted")
    return slots


def dentition_type(slots: dict[int, Slot]) -> str:
    kinds = {is_primary(s.tooth) for s in slots.values()}
    if not kinds:
        return "none"
    if kinds == {True}:
        return "primary"
    return "mixed" if kinds == {True, False} else "permanent"


DENTITION_LABELS = {"none": _l("No teeth yet"), "primary": _l("Primary dentition"),
                    "mixed": _l("Mixed dentition"), "permanent": _l("Permanent dentition")}


# --- is this tooth plausible at the patient's age? ----------------------------------------
# The earliest age (years) at which a clinician would accept a finding on a tooth: generous
# margins before the typical eruption ages above, so only clearly implausible entries are refused
# (a permanent molar on a 2-year-old, a third molar on a 9-year-old). Tooth germs seen on an X-ray
# are recorded as "unerupted", which is allowed at any age.
PERMANENT_EARLIEST = {1: 4.5, 2: 5.0, 3: 7.0, 4: 7.0, 5: 7.5, 6: 4.5, 7: 9.0, 8: 13.0}
PRIMARY_EARLIEST = {1: 0.0, 2: 0.4, 3: 0.8, 4: 0.7, 5: 1.3}   # natal incisors exist
PRIMARY_ADULT_AGE = 18.0   # primary teeth in an adult are retained teeth: recorded with a reason
PERMANENT_NAMES = {1: _l("a permanent central incisor"), 2: _l("a permanent lateral incisor"),
                   3: _l("a permanent canine"), 4: _l("a first premolar"), 5: _l("a second premolar"),
                   6: _l("a first permanent molar"), 7: _l("a second permanent molar"), 8: _l("a third molar")}


def implausible_for_age(tooth: int, kind: str, birth_date: date | None, on: date):
    """None if the tooth fits the patient's age, else the reason (a message for the clinician)."""
    if birth_date is None or kind == "unerupted":
        return None
    age = age_years(birth_date, on)
    if age < 0:
        return _l("This date is before the patient's birth date.")
    position = tooth % 10
    if not is_primary(tooth):
        earliest = PERMANENT_EARLIEST[position]
        if age < earliest:
            return _l("Tooth %(n)d is %(name)s, which comes through at about %(typical)s years; this patient was "
                      "%(age)s on that date. Check the tooth number (a child's teeth are 51–85), or record it as "
                      "unerupted.", n=tooth, name=PERMANENT_NAMES[position],
                      typical=_fmt_years(_erupts(tooth)), age=_fmt_years(age))
        return None
    if age < PRIMARY_EARLIEST[position]:
        return _l("Tooth %(n)d is a primary tooth that comes through at about %(typical)s years; this patient was "
                  "%(age)s on that date.", n=tooth, typical=_fmt_years(_erupts(tooth)), age=_fmt_years(age))
    if age >= PRIMARY_ADULT_AGE:
        return _l("Tooth %(n)d is a primary (baby) tooth and this patient is an adult. Check the tooth number "
                  "(permanent teeth are 11–48); a retained primary tooth is recorded with a reason.", n=tooth)
    return None


def _fmt_years(age: float) -> str:
    return str(int(age)) if age >= 3 else f"{age:.1f}".rstrip("0").rstrip(".")
