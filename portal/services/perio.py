"""Perio charts (牙周检查表): readings, the figures drawn from them, confirming, comparing.

Six sites per tooth in a fixed order (SITES). The gingival margin is charted as recession: a
positive number is the margin below the cemento-enamel junction, a negative one is overgrowth
(the margin above it). The clinical attachment level is computed, never typed:
CAL = probing depth + recession, each with its sign as charted (PD 5 with margin -2 is CAL 3).

A nurse or a doctor records readings on a draft; only a doctor confirms, and a confirmed exam
never changes (a conditional update on the draft decides; the loser is told who confirmed when).
"""
import json
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Patient, Staff, Visit, new_code, utcnow
from portal.models.perio import PerioExam
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when

SITES = ("MB", "B", "DB", "ML", "L", "DL")
SITE_LABELS = (_l("mesio-buccal"), _l("buccal"), _l("disto-buccal"), _l("mesio-lingual"), _l("lingual"),
               _l("disto-lingual"))
BUCCAL, LINGUAL = (0, 1, 2), (3, 4, 5)
PD_RANGE, GM_RANGE, GRADE_RANGE = (0, 15), (-10, 15), (0, 3)
RECORDERS = ("doctor", "nurse")
CHANGE_MM = 1  # a probing depth change of this many mm or more is marked better or worse

UPPER_RIGHT, UPPER_LEFT = [18, 17, 16, 15, 14, 13, 12, 11], [21, 22, 23, 24, 25, 26, 27, 28]
LOWER_RIGHT, LOWER_LEFT = [48, 47, 46, 45, 44, 43, 42, 41], [31, 32, 33, 34, 35, 36, 37, 38]


def _keep(teeth: list[int], count: int) -> list[int]:
    return [t for t in teeth if count == 32 or t % 10 != 8]


def upper_teeth(count: int = 28) -> list[int]:
    """The upper arch as the chart draws it, patient's right to left (18 … 11 21 … 28)."""
    return _keep(UPPER_RIGHT + UPPER_LEFT, count)


def lower_teeth(count: int = 28) -> list[int]:
    return _keep(LOWER_RIGHT + LOWER_LEFT, count)


def teeth_of(count: int = 28) -> list[int]:
    return upper_teeth(count) + lower_teeth(count)


def _drawn_sites(tooth: int, side: tuple[int, int, int]) -> list[int]:
    """A tooth's three sites on one side, left to right as drawn: distal first on the patient's right."""
    mesial, mid, distal = side[0], side[1], side[2]
    return [distal, mid, mesial] if tooth // 10 in (1, 4) else [mesial, mid, distal]


def drawn_sites(tooth: int, lingual: bool = False) -> list[int]:
    return _drawn_sites(tooth, LINGUAL if lingual else BUCCAL)


def entry_order(count: int = 28) -> list[tuple[int, int]]:
    """(tooth, site index) in the usual probing path: upper buccal 18→28, upper palatal 28→18,
    lower buccal 48→38, lower lingual 38→48 — one unbroken path round both arches."""
    order = []
    up, low = upper_teeth(count), lower_teeth(count)
    for t in up:
        order += [(t, s) for s in drawn_sites(t)]
    for t in reversed(up):
        order += [(t, s) for s in reversed(drawn_sites(t, lingual=True))]
    for t in low:
        order += [(t, s) for s in drawn_sites(t)]
    for t in reversed(low):
        order += [(t, s) for s in reversed(drawn_sites(t, lingual=True))]
    return order


def cal(pd, gm):
    """Clinical attachment level = probing depth + recession, signs as charted; None if either is missing."""
    if pd is None or gm is None:
        return None
    return pd + gm


def empty_tooth() -> dict:
    return {"pd": [None] * 6, "gm": [None] * 6, "bop": [False] * 6, "pl": [False] * 6, "mob": None, "fur": None}


def readings_of(exam: PerioExam) -> dict[int, dict]:
    """{tooth: {"pd", "gm", "cal", "bop", "pl", "mob", "fur"}} for every tooth of the exam."""
    stored = json.loads(exam.readings or "{}")
    out = {}
    for t in teeth_of(exam.teeth):
        tooth = {**empty_tooth(), **stored.get(str(t), {})}
        tooth["cal"] = [cal(p, g) for p, g in zip(tooth["pd"], tooth["gm"])]
        out[t] = tooth
    return out


def summary(readings: dict[int, dict]) -> dict:
    """Sites probed, sites >= 4 mm and >= 6 mm, bleeding and plaque as a share of the sites probed,
    mean CAL over the sites with both readings."""
    probed = ge4 = ge6 = bop = plaque = 0
    cals = []
    for tooth in readings.values():
        for i in range(6):
            pd = tooth["pd"][i]
            if pd is None:
                continue
            probed += 1
            ge4 += pd >= 4
            ge6 += pd >= 6
            bop += bool(tooth["bop"][i])
            plaque += bool(tooth["pl"][i])
            c = cal(pd, tooth["gm"][i])
            if c is not None:
                cals.append(c)
    pct = (lambda n: round(100 * n / probed, 1) if probed else 0.0)
    return {"sites": probed, "ge4": ge4, "ge6": ge6, "bop_pct": pct(bop), "plaque_pct": pct(plaque),
            "mean_cal": round(sum(cals) / len(cals), 1) if cals else None}


def summary_of(exam: PerioExam) -> dict:
    kept = json.loads(exam.summary or "{}")
    return kept if kept else summary(readings_of(exam))


def _int(text, low: int, high: int, what: str, field: str):
    text = (str(text) if text is not None else "").strip().replace("−", "-")
    if text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        raise ServiceError(_l("%(what)s must be a whole number.", what=what), field=field) from None
    if not low <= value <= high:
        raise ServiceError(_l("%(what)s must be between %(low)d and %(high)d.", what=what, low=low, high=high),
                           field=field)
    return value


def field_name(tooth: int, what: str, site: int | None = None) -> str:
    """The form field of one reading: t16_pd_0 … t16_pl_5, t16_mob, t16_fur."""
    return f"t{tooth}_{what}" if site is None else f"t{tooth}_{what}_{site}"


def parse_grid(form, count: int) -> dict[str, dict]:
    """The whole grid as posted (an unticked box is not posted: it is False) -> stored readings."""
    out = {}
    for t in teeth_of(count):
        tooth = empty_tooth()
        for i in range(6):
            tooth["pd"][i] = _int(form.get(field_name(t, "pd", i)), *PD_RANGE, _l("Probing depth"),
                                  field_name(t, "pd", i))
            tooth["gm"][i] = _int(form.get(field_name(t, "gm", i)), *GM_RANGE, _l("Gingival margin"),
                                  field_name(t, "gm", i))
            tooth["bop"][i] = bool(form.get(field_name(t, "bop", i)))
            tooth["pl"][i] = bool(form.get(field_name(t, "pl", i)))
        tooth["mob"] = _int(form.get(field_name(t, "mob")), *GRADE_RANGE, _l("Mobility"), field_name(t, "mob"))
        tooth["fur"] = _int(form.get(field_name(t, "fur")), *GRADE_RANGE, _l("Furcation"), field_name(t, "fur"))
        if tooth != empty_tooth():
            out[str(t)] = tooth
    return out


def _must_record(actor: Staff) -> None:
    if actor.role not in RECORDERS:
        raise ServiceError(_l("Only a doctor or a nurse records perio readings."))


def open_exam(patient: Patient, actor: Staff, on: date, teeth: int = 28, visit: Visit | None = None) -> PerioExam:
    _must_record(actor)
    if teeth not in (28, 32):
        raise ServiceError(_l("Chart 28 or 32 teeth."), field="teeth")
    if visit is not None and visit.patient_id != patient.id:
        raise ServiceError(_l("That visit is not this patient's."), field="visit")
    with unit_of_work():
        exam = PerioExam.create(code=new_code(10), patient=patient, visit=visit, exam_date=on, teeth=teeth,
                                recorded_by=actor, updated_by=actor,
                                summary=json.dumps(summary({})))
        audit.record("create", patient=patient, object_type="perio_exam", object_ref=exam.code, actor=actor)
    return exam


def _confirmed(current: PerioExam, config=None) -> Conflict:
    return Conflict(_l("This perio exam was already confirmed by %(who)s at %(time)s; it can no longer change.",
                       **who_when(current.confirmed_by_id, current.confirmed_at, config)))


def save_readings(exam: PerioExam, form, actor: Staff, version: int | None = None, config=None) -> PerioExam:
    """Replace the draft's readings with the grid as posted. A version older than the stored one
    means someone else saved in between: refused, naming them, so nobody's readings are lost."""
    _must_record(actor)
    readings = parse_grid(form, exam.teeth)
    with unit_of_work():
        current = locked(PerioExam, exam.id)
        if current is None:
            raise ServiceError(_l("This perio exam no longer exists."))
        if current.status != "draft":
            raise _confirmed(current, config)
        if version is not None and version != current.version:
            raise Conflict(_l("%(who)s saved this perio exam at %(time)s after you opened it: reload to see "
                              "their readings.", **who_when(current.updated_by_id, current.updated_at, config)))
        figures = summary({int(t): {**v, "cal": None} for t, v in readings.items()})
        now = utcnow()
        rows = (PerioExam.update(readings=json.dumps(readings, separators=(",", ":")), summary=json.dumps(figures),
                                 sites_4mm=figures["ge4"], version=PerioExam.version + 1, updated_by=actor,
                                 updated_at=now)
                .where(PerioExam.id == exam.id, PerioExam.status == "draft", PerioExam.version == current.version)
                .execute())
        if rows != 1:  # cannot happen behind the lock; the last line of defence
            raise _confirmed(PerioExam.get_by_id(exam.id), config)
        audit.record("update", patient=current.patient_id, object_type="perio_exam", object_ref=current.code,
                     actor=actor, detail={"sites": figures["sites"]})
    return PerioExam.get_by_id(exam.id)


def confirm(exam: PerioExam, actor: Staff, config=None) -> PerioExam:
    """A doctor confirms (signs) the exam as it is now; of many clicks one confirms."""
    if actor.role != "doctor":
        raise ServiceError(_l("Only a doctor confirms a perio exam."))
    with unit_of_work():
        current = locked(PerioExam, exam.id)
        if current is None:
            raise ServiceError(_l("This perio exam no longer exists."))
        if current.status != "draft":
            raise _confirmed(current, config)
        if not summary_of(current)["sites"]:
            raise ServiceError(_l("Record at least one probing depth before confirming."))
        now = utcnow()
        rows = (PerioExam.update(status="confirmed", confirmed_by=actor, confirmed_at=now, updated_at=now)
                .where(PerioExam.id == exam.id, PerioExam.status == "draft").execute())
        if rows != 1:
            raise _confirmed(PerioExam.get_by_id(exam.id), config)
        audit.record("update", patient=current.patient_id, object_type="perio_exam", object_ref=current.code,
                     actor=actor, detail={"confirmed": True})
    return PerioExam.get_by_id(exam.id)


LIST_FIELDS = (PerioExam.id, PerioExam.code, PerioExam.patient, PerioExam.exam_date, PerioExam.teeth,
               PerioExam.status, PerioExam.summary, PerioExam.sites_4mm, PerioExam.confirmed_at,
               PerioExam.created_at)


def exams_of(patient: Patient, limit: int = 100) -> list[PerioExam]:
    """Newest first, without the readings (one query)."""
    return list(PerioExam.select(*LIST_FIELDS).where(PerioExam.patient == patient)
                .order_by(PerioExam.exam_date.desc(), PerioExam.id.desc()).limit(limit))


def previous_exam(exam: PerioExam, lean: bool = False) -> PerioExam | None:
    """The exam before this one (by date, then by when it was opened), to compare against; `lean`
    leaves out the readings (a link to the comparison needs only its code and date)."""
    fields = (PerioExam.id, PerioExam.code, PerioExam.exam_date) if lean else (PerioExam,)
    return (PerioExam.select(*fields).where(PerioExam.patient == exam.patient_id, PerioExam.id != exam.id,
                                     (PerioExam.exam_date < exam.exam_date)
                                     | ((PerioExam.exam_date == exam.exam_date) & (PerioExam.id < exam.id)))
            .order_by(PerioExam.exam_date.desc(), PerioExam.id.desc()).first())


def change(before, after) -> str:
    """"better", "worse" or "" for one site's probing depth."""
    if before is None or after is None:
        return ""
    if after <= before - CHANGE_MM:
        return "better"
    if after >= before + CHANGE_MM:
        return "worse"
    return ""


def compare(older: PerioExam, newer: PerioExam) -> dict:
    """Per tooth and site: both readings and the change; counts of sites better and worse."""
    a, b = readings_of(older), readings_of(newer)
    rows, better, worse = {}, 0, 0
    for t in teeth_of(max(older.teeth, newer.teeth)):
        ta, tb = a.get(t, empty_tooth()), b.get(t, empty_tooth())
        marks = [change(ta["pd"][i], tb["pd"][i]) for i in range(6)]
        better += marks.count("better")
        worse += marks.count("worse")
        rows[t] = {"before": ta, "after": tb, "marks": marks}
    return {"teeth": rows, "better": better, "worse": worse}


def perio_marks(patient_id: int, today: date) -> bool:
    """For the special (3-month) recall: the latest confirmed exam up to `today` has sites >= 4 mm."""
    latest = (PerioExam.select(PerioExam.sites_4mm)
              .where(PerioExam.patient == patient_id, PerioExam.status == "confirmed", PerioExam.exam_date <= today)
              .order_by(PerioExam.exam_date.desc(), PerioExam.id.desc()).first())
    return bool(latest and latest.sites_4mm > 0)
