"""What staff must see wherever a patient appears: allergies, medical alerts, clinical-alert tags
(sensitive teeth, anticoagulants, pregnancy…) and the VIP mark.

`alerts_for(ids)` answers for any number of patients in one statement (the patients' alert text
joined to their clinical-alert tags, and the VIP rule's ids), so a busy day grid, a week or the
check-in board stays a constant number of statements. It starts from the id list, sent as one
parameter (`ids_sql`): the database probes the patient index per id instead of walking the
patient table (PostgreSQL at 100k patients walked all of it for a subquery), and a week's
2,000 ids cost no SQL-building per id. Templates draw them with
`macros/alerts.html` `alert_badges(alerts)`.

Allergy and medical-alert text is medical: callers pass `medical=False` for a viewer who may
not see it (`patient.medical.view`); tags and VIP are shown to whoever may see the patient.
"""
import json
from dataclasses import dataclass

import peewee as pw
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from portal.db import db, is_postgres

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


def ids_sql(column: str) -> str:
    """`column IN ids` with the whole list as one parameter, ids_param(ids) (a JSON array on
    SQLite, an array on PostgreSQL): the same short SQL text for 1 or 2,000 ids."""
    if is_postgres():
        return f"{column} = ANY(%s)"
    return f"{column} IN (SELECT value FROM json_each(?))"


def ids_param(ids: list[int]):
    return list(ids) if is_postgres() else json.dumps(list(ids))


VIP_TAG = "VIP"  # until membership tiers exist, the VIP mark comes from this tag

# Written out rather than built with peewee: they run on every grid drawn, and building the
# query objects cost more than running them. Both start from the id list.
VIP_SQL = (
    'SELECT m.patient_id AS pid FROM "membership" AS "m" WHERE {m_ids} AND m.tier IN ({tiers})'
    ' UNION SELECT p.id FROM "patient" AS "p" JOIN "membership" AS "r" ON r.patient_id = p.referred_by_id'
    " WHERE {p_ids} AND r.tier IN ({tiers})"
    ' UNION SELECT pt.patient_id FROM "patient_tag" AS "pt" JOIN "tag" AS "t" ON t.id = pt.tag_id'
    " WHERE {t_ids} AND t.name = {p}")
ALERTS_SQL = (
    'SELECT p.id, p.allergies, p.medical_alerts, t.name, 0 AS vip FROM "patient" AS "p"'
    ' LEFT JOIN "patient_tag" AS "pt" ON pt.patient_id = p.id'
    ' LEFT JOIN "tag" AS "t" ON t.id = pt.tag_id AND t.clinical_alert = {p}'
    " WHERE {ids} AND ({medical}t.id IS NOT NULL)")


def vip_query(ids: list[int]) -> tuple[str, tuple]:
    """The VIP rule for these patient ids: (SQL selecting their ids, parameters)."""
    from portal.services.tiers import VIP_TIERS
    p, param = db.param, ids_param(ids)
    sql = VIP_SQL.format(m_ids=ids_sql("m.patient_id"), p_ids=ids_sql("p.id"), t_ids=ids_sql("pt.patient_id"),
                         tiers=", ".join(p for _ in VIP_TIERS), p=p)
    return sql, (param, *VIP_TIERS, param, *VIP_TIERS, param, VIP_TAG)


def alerts_for(patient_ids, medical: bool = True, vip: bool = True) -> dict[int, list[Alert]]:
    """patient id -> alerts, most urgent first (allergy, medical, tags, VIP); patients without any
    are left out. `patient_ids`: the ids, or a query selecting them (run first: the one
    statement below then starts from the id list)."""
    if isinstance(patient_ids, pw.SelectBase):
        patient_ids = [pid for (pid,) in patient_ids.tuples()]
    patient_ids = sorted({i for i in patient_ids if i is not None})
    if not patient_ids:
        return {}
    sql = ALERTS_SQL.format(p=db.param, ids=ids_sql("p.id"),
                            medical="p.allergies != '' OR p.medical_alerts != '' OR " if medical else "")
    params: tuple = (True, ids_param(patient_ids))
    if vip:  # the VIP rule's ids in the same statement, marked vip = 1
        vip_sql, vip_params = vip_query(patient_ids)
        sql += f" UNION ALL SELECT x.pid, '', '', NULL, 1 FROM ({vip_sql}) AS x"
        params += vip_params
    texts: dict[int, tuple[str, str]] = {}
    tags: dict[int, list[str]] = {}
    vips = set()
    for pid, allergies, medical_alerts, tag, is_vip in db.execute_sql(sql + " ORDER BY 1, 4", params).fetchall():
        if is_vip:
            vips.add(pid)
            continue
        texts[pid] = (allergies, medical_alerts)
        if tag:
            tags.setdefault(pid, []).append(tag)
    # Each text translated once per call, not once per patient (a busy week has ~2,000).
    allergy, allergies, medical_alert = gettext("Allergy"), gettext("Allergies: %(a)s"), gettext("Medical alert")
    medical_alerts, clinical_alert = gettext("Medical alerts: %(a)s"), gettext("Clinical alert: %(tag)s")
    found: dict[int, list[Alert]] = {}
    for pid, (allergies_text, medical_text) in texts.items():
        items = []
        if medical and _told(allergies_text):
            items.append(Alert("allergy", allergy, allergies % {"a": _short(_told(allergies_text))}))
        if medical and _told(medical_text):
            items.append(Alert("medical", medical_alert, medical_alerts % {"a": _short(_told(medical_text))}))
        for name in tags.get(pid, []):
            items.append(Alert("tag", name, clinical_alert % {"tag": name}))
        if items:
            found[pid] = items
    vip_alert = Alert("vip", "VIP", str(_l("VIP: offer the VIP room.")))
    for pid in sorted(vips):
        found.setdefault(pid, []).append(vip_alert)
    return found
