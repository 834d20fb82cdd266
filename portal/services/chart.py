"""The tooth chart over time: record findings, correct them (never overwrite), and build the chart
as it was on any date from one query of the patient's entries."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import ChartEntry, Patient, Staff, Visit, new_code
from portal.models.chart import ENTRY_STATUSES
from portal.services import ServiceError
from portal.services.chart_teeth import (KINDS, Slot, dentition, dentition_type, implausible_for_age, valid_grade,
                                         valid_kind, valid_surfaces, valid_tooth)


@dataclass
class EntryData:
    tooth: object
    kind: str
    status: str
    surfaces: str = ""
    grade: object = None
    note: str = ""
    override: str = ""   # why a tooth unusual for the patient's age is right (a real anomaly)


def _clean(data: EntryData) -> dict:
    tooth = valid_tooth(data.tooth)
    kind = valid_kind(data.kind)
    if data.status not in ENTRY_STATUSES:
        raise ServiceError(_l("Say whether this is existing, planned or done."), field="status")
    return {"tooth": tooth, "kind": kind, "status": data.status,
            "surfaces": valid_surfaces(tooth, data.surfaces, kind),
            "grade": valid_grade(kind, data.grade), "note": (data.note or "").strip()[:200]}


def _check_visit(patient: Patient, visit: Visit | None) -> None:
    if visit is None:
        return
    if visit.patient_id != patient.id:
        raise ServiceError(_l("That visit belongs to another patient."))
    if visit.status == "signed":
        raise ServiceError(_l("This visit is signed and locked. Record the finding on a new visit, "
                              "or add an addendum."))


def _age_override(patient: Patient, values: dict, override: str, on: date) -> str:
    """Refuse a tooth clearly implausible at the patient's age on `on`, unless the record already has
    that tooth or the clinician gives a reason (a real anomaly: a retained primary tooth, early
    eruption). Returns the reason to audit, or ""."""
    problem = implausible_for_age(values["tooth"], values["kind"], patient.birth_date, on)
    if problem is None:
        return ""
    if ChartEntry.select().where(ChartEntry.patient == patient, ChartEntry.tooth == values["tooth"],
                                 ChartEntry.recorded_on <= on, ChartEntry.entered_in_error == False  # noqa: E712
                                 ).exists():
        return ""  # already on record (accepted before): a retained tooth stays chartable
    reason = (override or "").strip()[:200]
    if not reason:
        raise ServiceError(_l("%(problem)s If it is a real anomaly, give the reason in \"Unusual for the age\".",
                              problem=problem), field="tooth")
    return reason


def record(patient: Patient, data: EntryData, actor: Staff, on: date, visit: Visit | None = None) -> ChartEntry:
    values = _clean(data)
    _check_visit(patient, visit)
    if visit is not None:
        on = visit.visit_date
    override = _age_override(patient, values, data.override, on)
    with unit_of_work():
        entry = ChartEntry.create(code=new_code(), patient=patient, visit=visit, recorded_on=on,
                                  recorded_by=actor, **values)
        detail = {"tooth": entry.tooth, "kind": entry.kind, "status": entry.status, "surfaces": entry.surfaces}
        if override:
            detail["age_override"] = override
        audit.record("create", patient=patient, object_type="chart_entry", object_ref=entry.code, actor=actor,
                     detail=detail)
    return entry


def correct(target: ChartEntry, data: EntryData | None, actor: Staff, on: date,
            visit: Visit | None = None, reason: str = "") -> ChartEntry:
    """A new entry that replaces `target` from `on`; with data None it withdraws `target`
    (entered in error). The target stays in the record, shown as corrected."""
    if target.entered_in_error:
        raise ServiceError(_l("A withdrawal cannot itself be corrected; record a new finding instead."))
    if ChartEntry.select().where(ChartEntry.corrects == target).exists():
        raise ServiceError(_l("This entry has already been corrected; correct the latest version."))
    patient = target.patient
    _check_visit(patient, visit)
    if data is None:
        reason = (reason or "").strip()[:200]
        if not reason:
            raise ServiceError(_l("Say why the entry was wrong."), field="note")
        values = {"tooth": target.tooth, "kind": target.kind, "status": target.status,
                  "surfaces": target.surfaces, "grade": target.grade, "note": reason}
    else:
        values = _clean(data)
        if values["tooth"] != target.tooth:
            raise ServiceError(_l("A correction stays on the same tooth: withdraw this entry and record the "
                                  "finding on the right tooth."), field="tooth")
    if on < target.recorded_on:
        on = target.recorded_on
    with unit_of_work():
        entry = ChartEntry.create(code=new_code(), patient=patient, visit=visit, recorded_on=on, recorded_by=actor,
                                  corrects=target, entered_in_error=data is None, **values)
        audit.record("update", patient=patient, object_type="chart_entry", object_ref=entry.code, actor=actor,
                     detail={"corrects": target.code, "withdrawn": data is None})
    return entry


def _with_recorder():
    return ChartEntry.select(ChartEntry, Staff).join(Staff, on=(ChartEntry.recorded_by == Staff.id))


def entries_of(patient: Patient, tooth: int | None = None) -> list[ChartEntry]:
    """Every entry of the patient (or of one tooth: a correction never changes the tooth), oldest
    first, in one query with the recorder's name."""
    query = _with_recorder().where(ChartEntry.patient == patient)
    if tooth is not None:
        query = query.where(ChartEntry.tooth == tooth)
    return list(query.order_by(ChartEntry.recorded_on, ChartEntry.id))


def current_entries(patient: Patient, on: date, tooth: int | None = None) -> list[ChartEntry]:
    """What `in_effect` computes, done by the database: one query whose result is bounded by the
    mouth (current findings), not by the length of the patient's history."""
    fix = ChartEntry.alias()
    replaced = fix.select(fix.corrects).where(fix.patient == patient, fix.recorded_on <= on,
                                               fix.corrects.is_null(False))
    return list(_with_recorder().where(ChartEntry.patient == patient, ChartEntry.recorded_on <= on,
                                       ChartEntry.entered_in_error == False,  # noqa: E712
                                       ChartEntry.id.not_in(replaced))
                .where(True if tooth is None else ChartEntry.tooth == tooth)
                .order_by(ChartEntry.recorded_on, ChartEntry.id))


def latest_of_tooth(patient: Patient, tooth: int, limit: int = 40) -> list[ChartEntry]:
    """The tooth's latest entries, newest first. A correction is always newer than what it
    corrects, so every correction of an entry in this window is in the window too."""
    return list(_with_recorder().where(ChartEntry.patient == patient, ChartEntry.tooth == tooth)
                .order_by(ChartEntry.recorded_on.desc(), ChartEntry.id.desc()).limit(limit))


def recent_dates(patient: Patient, limit: int = 12) -> list[date]:
    """The latest dates with entries, oldest first, for the timeline."""
    rows = (ChartEntry.select(ChartEntry.recorded_on).where(ChartEntry.patient == patient)
            .distinct().order_by(ChartEntry.recorded_on.desc()).limit(limit).tuples())
    return sorted(day for (day,) in rows)


def in_effect(entries: list[ChartEntry], on: date) -> list[ChartEntry]:
    """The entries as the record stood on `on`: later ones left out, corrected ones replaced,
    withdrawn ones gone."""
    visible = [e for e in entries if e.recorded_on <= on]
    replaced = {e.corrects_id for e in visible if e.corrects_id}
    return [e for e in visible if e.id not in replaced and not e.entered_in_error]


# A later entry (existing or done, not planned) on the same tooth settles what came before it:
# the latest entry on a surface is that surface's state (a done filling treats the caries under
# it); a crown or a replacement covers every surface; a tooth taken out, missing or replaced
# (implant, pontic) ends everything recorded on it before; done work completes the same work
# planned before it.
COVERS_SURFACES = {"crown", "implant", "bridge_pontic", "extraction", "missing"}
ENDS_TOOTH = {"implant", "bridge_pontic", "extraction", "missing"}


def outstanding(entries: list[ChartEntry]) -> dict[int, str]:
    """The entries (in effect, any order) still standing once later entries on the same surfaces or
    tooth are taken into account: entry id -> the surfaces it still speaks for ("" for a
    whole-tooth entry). Entries that later work settled are left out."""
    by_tooth = defaultdict(list)
    for e in entries:
        by_tooth[e.tooth].append(e)
    standing = {}
    for es in by_tooth.values():
        es.sort(key=lambda e: (e.recorded_on, e.id))
        for i, e in enumerate(es):
            left = set(e.surfaces)
            ended = False
            for later in es[i + 1:]:
                if later.status == "planned":
                    continue
                if later.kind in ENDS_TOOTH or (later.kind in COVERS_SURFACES and left):
                    ended = True
                    break
                if left:
                    left -= set(later.surfaces)
                    if not left:
                        ended = True
                        break
                elif e.status == "planned" and later.kind == e.kind:
                    ended = True
                    break
            if not ended:
                standing[e.id] = "".join(ch for ch in e.surfaces if ch in left)
    return standing


def standing_entries(entries: list[ChartEntry]) -> list[ChartEntry]:
    """`entries` (in effect) without those later entries settled, in the same order."""
    keep = outstanding(entries)
    return [e for e in entries if e.id in keep]


@dataclass
class ToothView:
    slot: Slot
    entries: list = field(default_factory=list)

    @property
    def tooth(self):
        return self.slot.tooth

    def surface_fill(self, surface: str):
        """The entry that colours a surface: planned work over findings, the latest first."""
        hits = [e for e in self.entries if surface in e.surfaces]
        if not hits:
            return None
        return sorted(hits, key=lambda e: (e.status == "planned", e.recorded_on, e.id))[-1]

    def whole(self):
        return [e for e in self.entries if not KINDS[e.kind].surfaces]

    def has(self, kind, status=None):
        return any(e.kind == kind and (status is None or e.status == status) for e in self.entries)


@dataclass
class ChartView:
    on: date
    teeth: dict          # position (11–48) -> ToothView
    dentition: str
    entries: list        # in effect on `on` and still standing (not settled by a later entry)
    dates: list          # dates with entries, for the timeline
    others: dict         # entries on teeth the chart does not show at this date (tooth -> entries)
    surfaces: dict = field(default_factory=dict)  # entry id -> surfaces it still speaks for

    def row(self, quadrants):
        """Positions in display order: the patient's right on the viewer's left."""
        out = []
        for q in quadrants:
            positions = range(8, 0, -1) if q in (1, 4) else range(1, 9)
            out += [q * 10 + n for n in positions]
        return out


def build(patient: Patient, on: date, entries: list[ChartEntry] | None = None) -> ChartView:
    """The chart on `on`: from the database (two queries), or from `entries` already loaded."""
    if entries is None:
        current, dates = current_entries(patient, on), recent_dates(patient)
    else:
        current, dates = in_effect(entries, on), sorted({e.recorded_on for e in entries})
    history = defaultdict(list)
    for e in current:
        if e.status != "planned":
            history[e.tooth].append(e.kind)
    slots = dentition(patient.birth_date, on, dict(history))
    surfaces = outstanding(current)
    standing = [e for e in current if e.id in surfaces]
    by_tooth = defaultdict(list)
    for e in standing:
        by_tooth[e.tooth].append(e)
    teeth = {pos: ToothView(slot, by_tooth.get(slot.tooth, [])) for pos, slot in slots.items()}
    shown = {s.tooth for s in slots.values()}
    others = {t: es for t, es in by_tooth.items() if t not in shown}
    return ChartView(on=on, teeth=teeth, dentition=dentition_type(slots), entries=standing, dates=dates,
                     others=others, surfaces=surfaces)


def tooth_history(entries: list[ChartEntry], tooth: int) -> list[ChartEntry]:
    """Everything ever recorded on a tooth, newest first, including corrected entries."""
    return sorted((e for e in entries if e.tooth == tooth), key=lambda e: (e.recorded_on, e.id), reverse=True)


def corrected_ids(entries: list[ChartEntry]) -> dict[int, ChartEntry]:
    """id of a corrected entry -> the entry that corrected it."""
    return {e.corrects_id: e for e in entries if e.corrects_id}
