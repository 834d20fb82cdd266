"""Validation and normalisation of names, phones and ID numbers (no database access)."""
import re
from datetime import date

import phonenumbers
from flask_babel import lazy_gettext as _l
from pypinyin import Style, lazy_pinyin

from portal.services import ServiceError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NAME_OK = re.compile(r"^[\u3400-\u9fff\u00b7·A-Za-z .'-]+$")


def has_control_chars(value: str) -> bool:
    return bool(_CONTROL.search(value or ""))


def normalize_name(name: str) -> str:
    name = re.sub(r"\s+", " ", (name or "").strip())
    if not name:
        raise ServiceError(_l("Enter the patient's name."), field="name")
    if len(name) > 40 or not _NAME_OK.match(name):
        raise ServiceError(_l("A name is up to 40 Chinese or Latin letters (· and - allowed)."),
                           field="name")
    return name


def pinyin_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials), lower-case ASCII, for search: 张小明 → zhangxiaoming, zxm."""
    syllables = [s for s in lazy_pinyin(name, errors="ignore") if s.strip()]
    full = re.sub(r"[^a-z]", "", "".join(syllables).lower())
    initials = re.sub(r"[^a-z]", "", "".join(
        s[0] for s in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore") if s).lower())
    return full[:120], initials[:40]


def normalize_phone(value: str, field: str = "phone", required: bool = True) -> str:
    """A Chinese mobile or landline number as national digits (13812345678, 02112345678)."""
    raw = (value or "").strip()
    if not raw:
        if required:
            raise ServiceError(_l("Enter a phone number."), field=field)
        return ""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ServiceError(_l("This is not a valid phone number (mobile: 11 digits starting with 1; "
                              "landline: area code and number)."), field=field)
    if parsed.country_code != 86:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return re.sub(r"\D", "", national)


def id_number_birth_date(id_number: str) -> date | None:
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def normalize_id_number(value: str, birth_date: date | None = None) -> str:
    """An 18-character resident ID (居民身份证) with a valid check digit; empty is allowed."""
    value = (value or "").strip().upper()
    if not value:
        return ""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):  # ASCII digits only: \d would accept ٣ or ３
        raise ServiceError(_l("An ID number has 18 characters: 17 digits and a final digit or X."),
                           field="id_number")
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS)) % 11]
    if value[17] != check:
        raise ServiceError(_l("This ID number's check digit is wrong; please re-read the card."),
                           field="id_number")
    embedded = id_number_birth_date(value)
    if embedded is None:
        raise ServiceError(_l("This ID number holds an impossible birth date."), field="id_number")
    if birth_date and embedded != birth_date:
        raise ServiceError(_l("The birth date in the ID number does not match the birth date entered."),
                           field="id_number")
    return value


def mask_id_number(value: str) -> str:
    return f"{value[:3]}{'*' * 11}{value[-4:]}" if len(value) == 18 else ""


def mask_phone(value: str) -> str:
    return f"{value[:3]}****{value[-4:]}" if len(value) >= 11 else value


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def default_occupation_group(birth_date: date, today: date) -> str:
    """Used for call windows until staff say otherwise."""
    age = age_on(birth_date, today)
    if age < 7:
        return "child"
    if age < 23:
        return "student"
    if age < 60:
        return "working"
    return "retired"


def life_stage(birth_date: date, today: date) -> str:
    age = age_on(birth_date, today)
    return "child" if age < 12 else "teen" if age < 18 else "adult" if age < 65 else "senior"
