"""Registry screens: search, register, view, edit, tags, consents, families; the patient picker."""
import re

from flask import Blueprint, abort, current_app, g, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import audit
from portal.access import allow, can, deny, load_or_404
from portal.blueprints.patients.forms import (AddMemberForm, ConsentForm, GuarantorForm, MergeFamilyForm,
                                              MoveFamilyForm, PatientForm, RegisterForm, TagsForm)
from portal.blueprints.patients.picker import picked_patient, quietly
from portal.models import Family, OutboxMessage, Patient, Tag
from portal.services import Conflict, ServiceError
from portal.services import patients as registry
from portal.services.identity import age_on, life_stage
from portal.services.schedule_board import patient_appointments
from portal.web import apply_service_error, htmx, local_today, refuse, render, see_other, wants_fragment

bp = Blueprint("patients", __name__)


def load_patient(code: str, action: str = "patient.read") -> Patient:
    patient = load_or_404(Patient, action, code=code)
    g.patient_data = True
    if request.method == "GET":
        audit.record("read", patient=patient, object_type="patient", object_ref=patient.chart_no)
    return patient


def load_family(code: str, action: str = "patient.read") -> Family:
    family = load_or_404(Family, action, code=code)
    g.patient_data = True
    return family


def family_name_for(name: str) -> str:
    """张大伟 → 张家 (the surname); a Latin name keeps its last word: Anna Smith → Smith family."""
    name = name.strip()
    if name and "\u3400" <= name[0] <= "\u9fff":
        return _("%(surname)s family", surname=name[0])
    return _("%(surname)s family", surname=(name.split() or [""])[-1])


def _referrer(form) -> Patient | None:
    return picked_patient(form.referred_by.data, field="referred_by", required=False)


def _show_referrer(form) -> None:
    """Redrawn after an error: the chosen referrer as the picker shows a choice, not as a code."""
    shown = quietly(form.referred_by.data)
    if shown is not None:
        form.referred_by.data = f"{shown.name} · {shown.chart_no}"


def _data(form, consents=None) -> registry.PatientData:
    return registry.PatientData(
        name=form.name.data, sex=form.sex.data, birth_date=form.birth_date.data, phone=form.phone.data,
        phone2=form.phone2.data or "", email=form.email.data or "", id_number=form.id_number.data or "",
        address=form.address.data or "", occupation_group=form.occupation_group.data,
        preferred_channel=form.preferred_channel.data, preferred_time=form.preferred_time.data,
        allergies=form.allergies.data or "", medical_alerts=form.medical_alerts.data or "",
        referral_channel=form.referral_channel.data, referred_by=_referrer(form),
        consents=consents or {})


@bp.route("/patients")
@allow("patient.search")
def index():
    q = (request.args.get("q") or "").strip()[:40]
    tag_id = request.args.get("tag", type=int)
    limit = current_app.config["SEARCH_PAGE_SIZE"]
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    total = None
    if q:
        results = registry.search(q, limit=limit, tag_id=tag_id)
    elif tag_id:
        results, total = registry.tagged(tag_id, page, limit)
    else:
        results = []
    g.patient_data = bool(results)
    if results:  # a result list shows names and ages: a read of patient data, once per search
        audit.record("read", object_type="search", object_ref=str(len(results)),
                     detail={"q": q, "tag": tag_id, "shown": [p.chart_no for p in results]})
    tags = registry.tags_by_patient([p.id for p in results])
    pages = -(-total // limit) if total else 0
    # the results region alone (typing in the search box) shows no tag filter: no tag list to load
    only_results = wants_fragment() and htmx.target == "results"
    return render("patients/index.html", q=q, tag_id=tag_id, results=results, tags=tags,
                  all_tags=[] if only_results else list(Tag.select().order_by(Tag.name)), today=local_today(),
                  total=total, page=page, pages=pages)


PICK_ROWS = 8


@bp.route("/patients/pick")
@allow("patient.search")
def pick():
    """The patient picker's list (macros/picker.html): up to eight patients the search finds
    for the text typed, as an ARIA listbox whose options carry the patient's code."""
    field = re.sub(r"[^A-Za-z0-9_-]", "", request.args.get("field", ""))[:40] or "patient"
    key = re.sub(r"[^A-Za-z0-9_-]", "", request.args.get("key", ""))[:40]
    q = (request.args.get("q") or (request.args.get(key) if key else "") or "").strip()[:40]
    found = registry.search(q, limit=PICK_ROWS) if q else []
    rows = [p for p in found if can(current_user, "patient.read", p)]  # a restricted patient is not offered
    g.patient_data = True
    if rows:  # names, ages and phone tails: a read of patient data, audited as a search is
        audit.record("read", object_type="search", object_ref=str(len(rows)),
                     detail={"q": q, "picker": field, "shown": [p.chart_no for p in rows]})
    return render_template("patients/_pick.html", field=field, q=q, rows=rows, today=local_today())


@bp.route("/patients/new", methods=["GET", "POST"])
@allow("patient.create")
def new():
    form = RegisterForm()
    family_ref = (form.family.data or request.args.get("family") or "")[:12]
    family = None if "\x00" in family_ref else Family.get_or_none(Family.code == family_ref)
    if request.method == "GET" and family is not None:
        form.family.data = family.code
    candidates = []
    if form.validate_on_submit():
        consents = {"treatment": form.consent_treatment.data, "reminders": form.consent_reminders.data,
                    "marketing": form.consent_marketing.data}
        try:
            data = _data(form, consents)
            family_name = family_name_for(data.name) if form.new_family.data else None
            patient = registry.register(data, current_user, local_today(), family=family,
                                        allow_duplicate=form.confirm_not_duplicate.data,
                                        start_family_named=family_name)
        except registry.DuplicateSuspected as dup:
            candidates = dup.candidates
            form.form_errors.append(dup.message)
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            return see_other(url_for("patients.show", code=patient.code),
                             _("Registered %(name)s, chart number %(no)s.", name=patient.name, no=patient.chart_no))
    status = 422 if request.method == "POST" else 200
    _show_referrer(form)
    return render("patients/new.html", form=form, family=family, candidates=candidates), status


@bp.route("/patients/<code>")
@allow("patient.read")
def show(code):
    patient = load_patient(code)
    family = patient.family
    members = registry.family_members(family) if family else []
    tag_ids = {link.tag_id for link in patient.tag_links}
    appointments = patient_appointments(patient, current_app.config, limit=10) if can(current_user, "schedule.view") else []
    messages = (list(OutboxMessage.select().where(OutboxMessage.patient == patient)
                     .order_by(OutboxMessage.scheduled_at.desc()).limit(10))
                if can(current_user, "outbox.view") else [])
    return render("patients/show.html", patient=patient, family=family, members=members,
                  appointments=appointments, messages=messages,
                  tags=[t for t in Tag.select().order_by(Tag.name) if t.id in tag_ids],
                  all_tags=list(Tag.select().order_by(Tag.name)), tag_ids=tag_ids,
                  consents=registry.current_consents(patient), consent_form=ConsentForm(),
                  move_form=MoveFamilyForm(), tags_form=TagsForm(),
                  age=age_on(patient.birth_date, local_today()),
                  stage=life_stage(patient.birth_date, local_today()))


@bp.route("/patients/<code>/edit", methods=["GET", "POST"])
@allow("patient.update")
def edit(code):
    patient = load_patient(code, "patient.update")
    form = PatientForm(obj=patient)
    if request.method == "GET":
        ref = patient.referred_by if patient.referred_by_id else None
        form.referred_by.data = f"{ref.name} · {ref.chart_no}" if ref else ""  # as the picker shows a choice
    if form.validate_on_submit():
        try:
            changed = registry.update(patient, _data(form), current_user, local_today(),
                                      may_edit_medical=can(current_user, "patient.medical.update", patient))
        except ServiceError as err:
            apply_service_error(form, err)
        else:
            message = _("Saved.") if changed else _("Nothing changed.")
            return see_other(url_for("patients.show", code=patient.code), message)
    status = 422 if request.method == "POST" else 200
    _show_referrer(form)
    return render("patients/edit.html", form=form, patient=patient), status


@bp.route("/patients/<code>/tags", methods=["POST"])
@allow("patient.tag")
def set_tags(code):
    patient = load_patient(code, "patient.tag")
    form = TagsForm()
    if not form.validate_on_submit():
        abort(400)
    wanted = {int(v) for v in request.form.getlist("tag") if v.isdigit()}
    registry.set_tags(patient, wanted)
    return see_other(url_for("patients.show", code=patient.code), _("Tags saved."), trigger="tagsChanged")


@bp.route("/patients/<code>/consents", methods=["POST"])
@allow("patient.consent")
def record_consent(code):
    patient = load_patient(code, "patient.consent")
    form = ConsentForm()
    if not form.validate_on_submit():
        return see_other(url_for("patients.show", code=code), _("Choose a consent and a decision."), "error")
    registry.record_consent(patient, form.kind.data, form.granted.data == "1", current_user, form.method.data)
    return see_other(url_for("patients.show", code=code), _("Consent recorded."))


@bp.route("/patients/<code>/family", methods=["POST"])
@allow("family.manage")
def move_family(code):
    patient = load_patient(code, "patient.update")
    form = MoveFamilyForm()
    if not form.validate_on_submit():
        abort(400)
    target_ref = (form.target.data or "").strip().upper()[:12]
    new_name = (form.new_family_name.data or "").strip()
    try:
        if new_name:
            family = registry.create_family(new_name, None, current_user)
        elif target_ref:
            family = Family.get_or_none(Family.code == target_ref)
            if family is None:  # else the picker's patient: their family
                member = picked_patient(form.target.data, field="target")
                family = member.family
                if family is None:
                    raise ServiceError(_("%(name)s belongs to no family yet.", name=member.name))
        else:
            raise ServiceError(_("Choose a member of the family, or enter a family code or a new family name."))
        registry.move_to_family(patient, family, current_user)
    except ServiceError as err:
        return see_other(url_for("patients.show", code=code), err.message, "error")
    return see_other(url_for("patients.show", code=code), _("Moved to family %(name)s.", name=family.name))


@bp.route("/families/<code>")
@allow("patient.read")
def family(code):
    family = load_family(code)
    members = registry.family_members(family)
    visible = [m for m in members if can(current_user, "patient.read", m)]
    audit.record("read", patient=family.guarantor_id, object_type="family", object_ref=family.code)
    return render("patients/family.html", family=family, members=visible, hidden=len(members) - len(visible),
                  merge_form=MergeFamilyForm(), guarantor_form=GuarantorForm(), add_form=AddMemberForm(),
                  today=local_today())


@bp.route("/families/<code>/guarantor", methods=["POST"])
@allow("family.manage")
def set_guarantor(code):
    family = load_family(code, "family.manage")
    form = GuarantorForm()
    if not form.validate_on_submit():
        abort(400)
    member = load_patient(form.patient.data, "patient.update")
    try:
        registry.set_guarantor(family, member)
    except ServiceError as err:
        return see_other(url_for("patients.family", code=code), err.message, "error")
    return see_other(url_for("patients.family", code=code), _("Family contact changed."))


@bp.route("/families/<code>/members", methods=["POST"])
@allow("family.manage")
def add_member(code):
    """Bring a registered patient (chosen with the picker) into this family."""
    family = load_family(code, "family.manage")
    form = AddMemberForm()
    back = url_for("patients.family", code=code)
    try:
        if not form.validate_on_submit():
            raise ServiceError(_("Choose the patient to bring into this family."))
        patient = picked_patient(form.patient.data)
        if not can(current_user, "patient.update", patient):
            deny("record", patient=patient)
        if patient.family_id == family.id:
            raise ServiceError(_("%(name)s is already in this family.", name=patient.name))
        if not registry.move_to_family(patient, family, current_user):  # another desk just did
            raise Conflict(_("%(name)s is already in this family.", name=patient.name))
    except ServiceError as err:  # 409 when another desk got there first, else 422
        return refuse(err, back)
    return see_other(back, _("%(name)s moved into this family.", name=patient.name))


@bp.route("/families/<code>/merge", methods=["POST"])
@allow("family.manage")
def merge(code):
    family = load_family(code, "family.manage")
    form = MergeFamilyForm()
    if not form.validate_on_submit():
        return see_other(url_for("patients.family", code=code), _("Enter the other family's code."), "error")
    other = Family.get_or_none(Family.code == form.other.data.strip().upper())
    try:
        if other is None:
            raise ServiceError(_("No family has code %(code)s.", code=form.other.data.strip()[:12]))
        moved = registry.merge_families(other, family)
    except ServiceError as err:
        return see_other(url_for("patients.family", code=code), err.message, "error")
    return see_other(url_for("patients.family", code=code), _("%(n)d members moved into this family.", n=moved))
