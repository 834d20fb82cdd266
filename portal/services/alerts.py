"""What staff must see wherever a patient appears: allergies, medical alerts, clinical-alert tags
(sensitive teeth, anticoagulants, pregnancy…) and the VIP mark.

`alerts_for(ids)` answers for any number of patients in two queries (the patients' alert text
joined to their clinical-alert tags, then the VIP rule), so a busy day grid, a week or the
check-in board stays a constant number of statements. Templates draw them with
`macros/alerts.html` `alert_badges(alerts)`.

Allergy and medical-alert text is medical: callers pass `medical=False` for a viewer who may
not see it (`patient.medical.view`); tags and VIP are shown to whoever may see the patient.
"""
from dataclasses import dataclass

import peewee as pw
from flask_babel import lazy_gettext as _l

from portal.models import Patient, PatientTag, Tag

# Text a desk types to say "nothing known": not an alert.
NOTHING = {"", "无", "没有", "否", "none", "no", "nil", "n/a", "-", "—", "/", "无过敏", "无过敏史", "否认"}
DETAIL_CHARS = 120


@dataclass(frozen=True)
class Alert:
    kind: str    # allergy | medical | tag | vip
    label: str   # short text on the badge (never colour alone)
    detail: str  # the whole story: the badge's title and what a screen reader says


def _told(text: str) -> str:
    text = (text or "").strip()
    return "" if text.lower() in NOTHING else text


def _short(text: str) -> str:
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 1] + "…"


def alerts_for(patient_ids, medical: bool = True, vip: bool = True) -> dict[int, list[Alert]]:
    """patient id -> alerts, most urgent first (allergy, medical, tags, VIP); patients without any
    are left out. `patient_ids` is a list/set of ids or a query selecting them (a query keeps a
    busy day's ids out of the SQL text)."""
    from portal.services.schedule_board import vip_patient_ids
    if isinstance(patient_ids, (list, tuple, set, frozenset)):
        patient_ids = [i for i in patient_ids if i is not None]
        if not patient_ids:
            return {}
    alert_tag = (PatientTag.tag == Tag.id) & (Tag.clinical_alert == True)  # noqa: E712
    q = (Patient.select(Patient.id, Patient.allergies, Patient.medical_alerts, Tag.name)
         .join(PatientTag, pw.JOIN.LEFT_OUTER, on=(PatientTag.patient == Patient.id))
         .join(Tag, pw.JOIN.LEFT_OUTER, on=alert_tag)
         .where(Patient.id.in_(patient_ids)))
    if medical:
        q = q.where((Patient.allergies != "") | (Patient.medical_alerts != "") | Tag.id.is_null(False))
    else:
        q = q.where(Tag.id.is_null(False))
    q = q.order_by(Patient.id, Tag.name)
    texts: dict[int, tuple[str, str]] = {}
    tags: dict[int, list[str]] = {}
    for pid, allergies, medical_alerts, tag in q.tuples():
        texts[pid] = (allergies, medical_alerts)
        if tag:
            tags.setdefault(pid, []).append(tag)
    found: dict[int, list[Alert]] = {}
    for pid, (allergies, medical_alerts) in texts.items():
        items = []
        if medical and _told(allergies):
            items.append(Alert("allergy", str(_l("Allergy")), str(_l("Allergies: %(a)s", a=_short(_told(allergies))))))
        if medical and _told(medical_alerts):
            items.append(Alert("medical", str(_l("Medical alert")),
                               str(_l("Medical alerts: %(a)s", a=_short(_told(medical_alerts))))))
        for name in tags.get(pid, []):
            items.append(Alert("tag", name, str(_l("Clinical alert: %(tag)s", tag=name))))
        if items:
            found[pid] = items
    if vip:
        for pid in sorted(vip_patient_ids(patient_ids)):
            found.setdefault(pid, []).append(Alert("vip", "VIP", str(_l("VIP: offer the VIP room."))))
    return found
