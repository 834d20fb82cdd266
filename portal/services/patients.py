"""Registration (建档), updates, duplicates, search, families, tags and consents."""
import re
from dataclasses import dataclass, field
from datetime import date

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import is_sqlite, unit_of_work
from portal.models import Consent, Family, Patient, PatientTag, Staff, Tag, new_code, utcnow
from portal.models.people import (CHANNELS, CONSENT_KINDS, CONTACT_TIMES, OCCUPATION_GROUPS,
                                  REFERRAL_CHANNELS, SEXES)
from portal.services import ServiceError, counters
from portal.services.identity import (default_occupation_group, normalize_id_number, normalize_name,
                                      normalize_phone, pinyin_keys)

CONSENT_VERSION = "2026-01"
EDITABLE = ("name", "sex", "birth_date", "phone", "phone2", "email", "id_number", "address",
            "occupation_group", "preferred_channel", "preferred_time", "allergies",
            "medical_alerts", "referral_channel")
MEDICAL_FIELDS = ("allergies", "medical_alerts")


@dataclass
class PatientData:
    name: str
    sex: str
    birth_date: date
    phone: str
    phone2: str = ""
    email: str = ""
    id_number: str = ""
    address: str = ""
    occupation_group: str = ""
    preferred_channel: str = "sms"
    preferred_time: str = "any"
    allergies: str = ""
    medical_alerts: str = ""
    referral_channel: str = "walk_in"
    referred_by: Patient | None = None
    consents: dict = field(default_factory=dict)  # kind -> bool


def _choice(value, allowed, field_name):
    if value not in allowed:
        raise ServiceError(_l("Choose one of the listed options."), field=field_name)
    return value


def clean(data: PatientData, today: date) -> dict:
    """Validate and normalise; raises ServiceError naming the field at fault."""
    if not isinstance(data.birth_date, date) or not (date(1900, 1, 1) <= data.birth_date <= today):
        raise ServiceError(_l("The birth date must be a real date, not in the future."),
                           field="birth_date")
    name = normalize_name(data.name)
    full, initials = pinyin_keys(name)
    phone = normalize_phone(data.phone)
    email = (data.email or "").strip()
    if email and not re.fullmatch(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}", email):
        raise ServiceError(_l("This is not a valid e-mail address."), field="email")
    values = {
        "name": name, "name_pinyin": full or name.lower(), "name_initials": initials,
        "sex": _choice(data.sex, SEXES, "sex"), "birth_date": data.birth_date,
        "phone": phone, "phone_rev": phone[::-1],
        "phone2": normalize_phone(data.phone2, "phone2", required=False),
        "email": email[:120],
        "id_number": normalize_id_number(data.id_number, data.birth_date),
        "address": (data.address or "").strip()[:200],
        "occupation_group": _choice(data.occupation_group or default_occupation_group(data.birth_date, today),
                                    OCCUPATION_GROUPS, "occupation_group"),
        "preferred_channel": _choice(data.preferred_channel, CHANNELS, "preferred_channel"),
        "preferred_time": _choice(data.preferred_time, CONTACT_TIMES, "preferred_time"),
        "allergies": (data.allergies or "").strip()[:2000],
        "medical_alerts": (data.medical_alerts or "").strip()[:2000],
        "referral_channel": _choice(data.referral_channel, REFERRAL_CHANNELS, "referral_channel"),
    }
    if values["referral_channel"] == "patient" and data.referred_by is None:
        raise ServiceError(_l("Choose the patient who referred them."), field="referred_by")
    return values


def find_duplicates(name: str, birth_date: date | None, phone: str, exclude_id: int | None = None):
    """Same phone, or same name and birth date: probably the same person."""
    cond = Patient.phone == phone
    if birth_date:
        cond |= (Patient.name == name) & (Patient.birth_date == birth_date)
    query = Patient.select().where(cond)
    if exclude_id:
        query = query.where(Patient.id != exclude_id)
    return list(query.limit(10))


def register(data: PatientData, actor: Staff, today: date, family: Family | None = None,
             allow_duplicate: bool = False, start_family_named: str | None = None) -> Patient:
    """Register one patient, optionally into `family` or as the contact of a new family."""
    values = clean(data, today)
    if not allow_duplicate:
        dupes = find_duplicates(values["name"], values["birth_date"], values["phone"])
        if dupes:
            raise DuplicateSuspected(dupes)
    with unit_of_work():
        # The chart number comes from the locked counter row (services.counters), taken in this
        # transaction: two desks registering at the same instant get two numbers, no retries.
        patient = Patient.create(code=new_code(), chart_no=counters.chart_no(today),
                                 referred_by=data.referred_by, family=family,
                                 created_by=actor, **values)
        for kind, granted in (data.consents or {}).items():
            _record_consent(patient, kind, bool(granted), actor, "paper")
        audit.record("create", patient=patient, object_type="patient",
                     object_ref=patient.chart_no, actor=actor)
        if family is None and start_family_named:
            create_family(start_family_named, patient, actor)
    return patient


class DuplicateSuspected(ServiceError):
    def __init__(self, candidates):
        super().__init__(_l("A patient with the same phone, or the same name and birth date, "
                            "is already registered. Open that record, or confirm this is a "
                            "different person."))
        self.candidates = candidates


def update(patient: Patient, data: PatientData, actor: Staff, today: date,
           may_edit_medical: bool) -> list[str]:
    values = clean(data, today)
    if not may_edit_medical:
        for key in MEDICAL_FIELDS:
            values[key] = getattr(patient, key)
    changed = [k for k, v in values.items() if getattr(patient, k) != v]
    if data.referred_by != patient.referred_by:
        changed.append("referred_by")
    if not changed:
        return []
    with unit_of_work():
        for key, value in values.items():
            setattr(patient, key, value)
        patient.referred_by = data.referred_by
        patient.updated_at = utcnow()
        patient.save()
        audit.record("update", patient=patient, object_type="patient", object_ref=patient.chart_no, actor=actor,
                     detail={"fields": sorted(set(changed) - {"name_pinyin", "name_initials", "phone_rev"})})
    return changed


# --- search -------------------------------------------------------------------------------

def _prefix(field_, value: str):
    """Index-friendly prefix match: GLOB on SQLite, LIKE on a C-collated column on PostgreSQL.
    Callers pass only [a-z0-9] or CJK, so no wildcard needs escaping."""
    if is_sqlite():
        return pw.Expression(field_, "GLOB", value + "*")
    return pw.Expression(field_, "LIKE", value + "%")


def _with_tag(tag_id: int):
    return Patient.id.in_(PatientTag.select(PatientTag.patient).where(PatientTag.tag == tag_id))


def tagged(tag_id: int, page: int = 1, size: int = 20) -> tuple[list[Patient], int]:
    """One page of the patients carrying a tag (by name), and how many carry it in all."""
    query = Patient.select(Patient, Family).join(Family, pw.JOIN.LEFT_OUTER).where(_with_tag(tag_id))
    total = Patient.select().where(_with_tag(tag_id)).count()
    page = max(1, page)
    return list(query.order_by(Patient.name, Patient.id).paginate(page, size)), total


# What a result row shows (name, sex, age, masked phone, chart number, link by code) and what the
# access check reads: a search answers as you type, so it loads no more (a full row and its family
# cost half the request).
LISTING = (Patient.id, Patient.code, Patient.chart_no, Patient.name, Patient.name_pinyin, Patient.sex,
           Patient.birth_date, Patient.phone, Patient.family, Patient.restricted, Patient.attending_doctor)


def search(q: str, limit: int = 20, tag_id: int | None = None) -> list[Patient]:
    """Name, pinyin initials (zxm), full pinyin, phone suffix, chart number (among the patients
    carrying `tag_id`, if given). Letters list by pinyin (张小明 before 张晓梅), other keys by name.
    Every statement is an index range scan already in the order it pages by (see first_pages and
    tests/test_explain_plans.py). The patients carry the LISTING columns only."""
    q = (q or "").strip()
    if not q:
        return []
    base = Patient.select(*LISTING).order_by(Patient.name, Patient.id)
    if tag_id:
        base = base.where(_with_tag(tag_id))

    def first_pages(*keyed):
        """The first `limit` matches of each (column, prefix) in that column's index order (an
        index on (column, id) is that order, so each range scan stops after a page, however
        many match), merged. Ordering all matches at once would have to gather and sort every
        one: a broad prefix such as zhang, wang or li matches a fifteenth of the registry, a
        chart-number year all that year's patients (100k patients, "2015": SQLite 86 ms → 1.4 ms,
        PostgreSQL 41 ms → 2.4 ms). Two plain statements cost less than one with both as
        subqueries. A page of a broad prefix is thus the first page of each key's own order,
        shown in the page's order; a narrower prefix (fewer matches than a page) shows them all."""
        found = {}
        for column, key in keyed:
            # a unique column (chart_no) is its own tie-breaker and index: adding id would not
            # be in that index's order, and PostgreSQL would sort the matches again
            order = (column,) if column.unique else (column, Patient.id)
            for p in base.where(_prefix(column, key)).order_by(*order).limit(limit):
                found.setdefault(p.id, p)
        return list(found.values())

    compact = re.sub(r"[\s\-]", "", q)
    if compact.isdigit():
        if len(compact) < 3:
            return []
        # a phone's last digits (by the reversed number) or a chart number's first ones
        found = first_pages((Patient.phone_rev, compact[::-1]), (Patient.chart_no, compact))
        return sorted(found, key=lambda p: (p.name, p.id))[:limit]
    if re.fullmatch(r"[A-Za-z]+", compact):
        if len(compact) < 2:  # one letter matches a tenth of all patients: wait for the second
            return []
        key = compact.lower()
        found = first_pages((Patient.name_pinyin, key), (Patient.name_initials, key))
        return sorted(found, key=lambda p: (p.name_pinyin, p.id))[:limit]
    clean_q = re.sub(r"[^\u3400-\u9fff\u00b7A-Za-z]", "", q)
    if not clean_q:
        return []
    found = list(base.where(_prefix(Patient.name, clean_q)).limit(limit))
    if not found and len(clean_q) >= 2:
        # Nobody's name starts so: perhaps a given name typed without the surname. This LIKE '%q%'
        # cannot use an index, so it runs only when the indexed search found nothing.
        found = list(base.where(Patient.name.contains(clean_q)).limit(limit))
    return found


PICK_HELP = _l("Type a chart number, the full name or the full phone number, or choose the patient "
               "from the list as you type.")


def find_one(ref: str) -> Patient | None:
    """The one patient a typed field names (the patient picker's value, or what a person typed
    without JavaScript): a patient code, a chart number, a member card number or the picker's
    "name · chart number"; else an exact full name or full phone number that exactly one patient
    has. None for an empty field; ServiceError (naming what to type) when nobody or more than one
    patient matches."""
    ref = re.sub(r"\s+", " ", (ref or "").strip())[:60]
    if not ref:
        return None
    key = ref.upper()
    if re.fullmatch(r"[A-Z0-9]{1,20}", key):
        # a code, a chart number, or a member card number (M + the chart number, tiers.card_no)
        chart_no = key[1:] if re.fullmatch(r"M\d{6,12}", key) else key
        found = Patient.get_or_none((Patient.code == key) | (Patient.chart_no == chart_no))
        if found is not None:
            return found
    shown = re.fullmatch(r"(.+?)\s*·\s*(\d{6,12})", ref)  # as the picker shows a choice: 张小明 · 2026000123
    if shown:
        found = Patient.get_or_none(Patient.chart_no == shown.group(2))
        if found is not None and found.name == shown.group(1):
            return found
    digits = re.sub(r"[\s\-]", "", ref)
    if digits.isdigit():
        rows = list(Patient.select().where(Patient.phone == digits).limit(2)) if len(digits) >= 7 else []
    elif re.fullmatch(r"[\u3400-\u9fff\u00b7A-Za-z\- ]+", ref):
        rows = list(Patient.select().where(Patient.name == ref).limit(2))
    else:
        rows = []
    if len(rows) == 1:
        return rows[0]
    if len(rows) > 1:
        raise ServiceError(_l("More than one patient matches “%(ref)s”. %(help)s", ref=ref, help=PICK_HELP))
    raise ServiceError(_l("No patient matches “%(ref)s”. %(help)s", ref=ref, help=PICK_HELP))


# --- families -----------------------------------------------------------------------------

def create_family(name: str, guarantor: Patient | None, actor: Staff) -> Family:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_l("Give the family a name, such as the guarantor's surname."), field="name")
    with unit_of_work():
        family = Family.create(code=new_code(), name=name[:60], guarantor=guarantor)
        if guarantor is not None:
            guarantor.family = family
            guarantor.save()
        audit.record("create", patient=guarantor, object_type="family", object_ref=family.code, actor=actor)
    return family


def move_to_family(patient: Patient, family: Family | None, actor: Staff) -> bool:
    """Move the patient into `family` (None: out of any). Decided on the patient's row as it is
    inside the unit of work (locked on PostgreSQL): of desks moving them at once, one moves them
    and records it; the others find them there already. False when nothing changed."""
    from portal.services.moved_on import locked
    target = family.id if family is not None else None
    with unit_of_work():
        row = locked(Patient, patient.id)
        if row is None or row.family_id == target:
            patient.family = row.family if row is not None else patient.family
            return False
        old = Family.get_or_none(Family.id == row.family_id) if row.family_id else None
        Patient.update(family=target).where(Patient.id == patient.id).execute()
        patient.family = family
        if old is not None and old.guarantor_id == patient.id:
            # the contact left; the family must choose a new one
            Family.update(guarantor=None).where(Family.id == old.id).execute()
        audit.record("update", patient=patient, object_type="family",
                     object_ref=family.code if family else None,
                     detail={"from": old.code if old else None, "to": family.code if family else None})
    return True


def set_guarantor(family: Family, patient: Patient) -> None:
    if patient.family_id != family.id:
        raise ServiceError(_l("The family contact must be a member of the family."))
    with unit_of_work():
        family.guarantor = patient
        family.save()
        audit.record("update", patient=patient, object_type="family", object_ref=family.code,
                     detail={"guarantor": patient.chart_no})


def merge_families(source: Family, target: Family) -> int:
    """Move every member of `source` into `target` and remove `source`."""
    if source.id == target.id:
        raise ServiceError(_l("Choose two different families to merge."))
    with unit_of_work():
        moved = Patient.update(family=target).where(Patient.family == source).execute()
        if target.guarantor_id is None and source.guarantor_id is not None:
            target.guarantor = source.guarantor_id
            target.save()
        if source.note:
            target.note = (target.note + "\n" + source.note).strip()
            target.save()
        audit.record("merge", patient=target.guarantor_id, object_type="family", object_ref=target.code,
                     detail={"merged": source.code, "members": moved})
        source.delete_instance()
    return moved


def family_members(family: Family) -> list[Patient]:
    return list(family.members.order_by(Patient.birth_date))


# --- tags ---------------------------------------------------------------------------------

def create_tag(name: str, color: str, clinical_alert: bool, name_en: str = "") -> Tag:
    """A clinic's own tag; the English name, if given, is what the English UI shows (portal.labels)."""
    name, name_en = (name or "").strip(), (name_en or "").strip()[:30]
    if not name or len(name) > 30:
        raise ServiceError(_l("A tag name has 1 to 30 characters."), field="name")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color or ""):
        raise ServiceError(_l("Choose a colour."), field="color")
    if Tag.select().where(Tag.name == name).exists():
        raise ServiceError(_l("This tag already exists."), field="name")
    with unit_of_work():
        tag = Tag.create(name=name, name_en=name_en, color=color.lower(), clinical_alert=clinical_alert)
        audit.record("create", object_type="tag", object_ref=tag.id, detail={"name": name})
    return tag


def set_tags(patient: Patient, tag_ids: set[int]) -> tuple[set[int], set[int]]:
    current = {link.tag_id for link in patient.tag_links}
    valid = {t.id for t in Tag.select(Tag.id).where(Tag.id.in_(list(tag_ids)))} if tag_ids else set()
    added, removed = valid - current, current - valid
    if not added and not removed:
        return added, removed
    with unit_of_work():
        if removed:
            PatientTag.delete().where(PatientTag.patient == patient, PatientTag.tag.in_(list(removed))).execute()
        for tag_id in added:
            PatientTag.create(patient=patient, tag=tag_id)
        audit.record("update", patient=patient, object_type="tags", object_ref=patient.chart_no,
                     detail={"added": sorted(added), "removed": sorted(removed)})
    return added, removed


def tags_by_patient(patient_ids: list[int]) -> dict[int, list[Tag]]:
    """One query for the tags of a page of patients."""
    result: dict[int, list[Tag]] = {pid: [] for pid in patient_ids}
    if not patient_ids:
        return result
    rows = (PatientTag.select(PatientTag.patient, Tag).join(Tag)
            .where(PatientTag.patient.in_(patient_ids)).order_by(Tag.name))
    for link in rows:
        result[link.patient_id].append(link.tag)
    return result


# --- consents -----------------------------------------------------------------------------

def _record_consent(patient, kind, granted, actor, method):
    if kind not in CONSENT_KINDS:
        raise ServiceError(_l("Unknown consent."))
    return Consent.create(patient=patient, kind=kind, version=CONSENT_VERSION, granted=granted,
                          method=method, recorded_by=actor)


def record_consent(patient: Patient, kind: str, granted: bool, actor: Staff, method: str = "paper"):
    with unit_of_work():
        row = _record_consent(patient, kind, granted, actor, method)
        audit.record("update", patient=patient, object_type="consent", object_ref=kind,
                     detail={"granted": granted, "version": CONSENT_VERSION, "method": method})
    return row


def current_consents(patient: Patient) -> dict[str, Consent | None]:
    """The decision in force per kind (the latest), or None if never asked."""
    latest: dict[str, Consent | None] = {kind: None for kind in CONSENT_KINDS}
    for row in patient.consents.order_by(Consent.recorded_at, Consent.id):
        latest[row.kind] = row
    return latest


def consent_history(patient: Patient) -> list[Consent]:
    return list(patient.consents.order_by(Consent.recorded_at.desc(), Consent.id.desc()))
