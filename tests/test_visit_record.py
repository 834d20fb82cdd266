"""The structured visit record (issue 14): templates and quick phrases fill the record's fields
with placeholders from the visit; past history and allergies carried forward for confirmation;
signed records locked; templates kept by the manager (clinic) and each doctor (own)."""
import shutil
import subprocess
from datetime import date

import pytest

from portal.models import AuditEvent, Visit
from portal.models.visit_record import NoteTemplate
from portal.services import Conflict, ServiceError
from portal.services import chart as charts
from portal.services import chart_visits as visits
from portal.services import visit_record as record
from tests.races import race

FILLING = {"chief_complaint": "{tooth}牙冷热敏感两周", "present_illness": "两周前起{tooth}遇冷敏感，无自发痛",
           "examination": "{tooth} {surfaces}面深龋，探诊敏感，叩痛(-)", "investigations": "X线片：{tooth}龋坏近髓",
           "diagnosis": "{tooth} 深龋", "treatment_plan": "{tooth} 树脂充填", "treatment": "{tooth} {surfaces} 树脂充填",
           "advice": "{age}岁，24小时内避免用患侧咀嚼"}


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="赵一", birth_date=date(1985, 5, 5))


@pytest.fixture()
def visit(patient, staff):
    v = visits.open_visit(patient, staff["doctor"], date(2026, 1, 5))
    charts.record(patient, charts.EntryData(46, "caries", "existing", "O"), staff["doctor"], date(2026, 1, 5), v)
    return v


@pytest.fixture()
def filling(staff):
    return record.create_template(record.TemplateData(title="深龋充填", body=FILLING), staff["manager"])


def test_a_template_fills_a_structured_record_with_placeholders_replaced(visit, filling, staff):
    out = record.apply(filling, visit, {"chief_complaint": "患者自述"}, staff["doctor"])
    assert out["chief_complaint"] == "患者自述\n46牙冷热敏感两周"       # written text kept, template added below
    assert out["examination"] == "46 O面深龋，探诊敏感，叩痛(-)"
    assert out["advice"].startswith("40岁")                           # age on the visit day
    assert all("{" not in text for text in out.values())
    doc = staff["doctor"]
    assert Visit.get_by_id(visit.id).diagnosis == ""                  # nothing saved by applying
    visits.update_notes(visit, visits.VisitNotes(**out), doc)
    signed = visits.sign(visit, doc)
    assert signed.present_illness.startswith("两周前起46") and signed.treatment_plan == "46 树脂充填"


def test_unknown_placeholders_stay_for_the_doctor(patient, staff, filling):
    bare = visits.open_visit(patient, staff["doctor"], date(2026, 1, 6))
    out = record.apply(filling, bare, {}, staff["doctor"])
    assert out["diagnosis"] == "{tooth} 深龋"


def test_apply_through_htmx_returns_the_filled_form_only(visit, filling, as_role):
    client = as_role("doctor")
    resp = client.post(f"/visits/{visit.code}/template", data={"template": filling.code, "chief_complaint": ""},
                       headers={"HX-Request": "true", "HX-Target": "visit-notes"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "46牙冷热敏感两周" in html and "<html" not in html
    assert "Save notes" in html
    page = client.get(f"/visits/{visit.code}").get_data(as_text=True)
    assert filling.title in page                                       # offered on the visit page


def test_quick_phrase_appends_to_its_field(visit, staff):
    phrase = record.create_template(record.TemplateData(title="术后医嘱", body={"advice": "两小时内勿进食"}),
                                    staff["doctor"])
    assert record.fields_of(phrase) == {"advice": "两小时内勿进食"}
    out = record.apply(phrase, visit, {"advice": "按时复诊"}, staff["doctor"])
    assert out["advice"] == "按时复诊\n两小时内勿进食" and out["diagnosis"] == ""


def test_past_history_and_allergies_carried_forward_for_confirmation(patient, staff, as_role):
    doc = staff["doctor"]
    first = visits.open_visit(patient, doc, date(2025, 6, 1))
    visits.update_notes(first, visits.VisitNotes(chief_complaint="洁牙", diagnosis="牙龈炎", past_history="高血压十年",
                                                 allergy_history="青霉素过敏"), doc)
    visits.sign(first, doc)
    draft = visits.open_visit(patient, doc, date(2026, 1, 5))
    carried = record.carried_forward(draft)
    assert carried == {"past_history": ("高血压十年", date(2025, 6, 1)), "allergy_history": ("青霉素过敏", date(2025, 6, 1))}
    html = as_role("doctor").get(f"/visits/{draft.code}").get_data(as_text=True)
    assert "高血压十年" in html and "青霉素过敏" in html and "confirm or correct" in html
    assert Visit.get_by_id(draft.id).past_history == ""               # shown, not saved until the doctor saves
    visits.update_notes(draft, visits.VisitNotes(past_history="高血压十年", allergy_history="青霉素过敏"), doc)
    assert record.carried_forward(Visit.get_by_id(draft.id)) == {}


def test_allergies_fall_back_to_the_patients_record(make_patient, staff):
    p = make_patient(name="钱二")
    p.allergies = "磺胺类"
    p.save()
    draft = visits.open_visit(p, staff["doctor"], date(2026, 1, 5))
    assert record.carried_forward(draft) == {"allergy_history": ("磺胺类", None)}


def test_signed_record_is_locked(visit, filling, staff, as_role):
    doc = staff["doctor"]
    visits.update_notes(visit, visits.VisitNotes(chief_complaint="冷敏感", diagnosis="深龋"), doc)
    visits.sign(visit, doc)
    signed = Visit.get_by_id(visit.id)
    with pytest.raises(ServiceError):
        visits.update_notes(signed, visits.VisitNotes(chief_complaint="冷敏感", diagnosis="深龋", past_history="改"), doc)
    with pytest.raises(ServiceError):
        record.apply(filling, signed, {}, doc)
    client = as_role("doctor")
    assert client.post(f"/visits/{visit.code}/template", data={"template": filling.code}).status_code == 422
    assert Visit.get_by_id(visit.id).past_history == ""


def test_access(visit, filling, staff, as_role):
    for role in ("frontdesk", "nurse", "consultant"):
        c = as_role(role)
        assert c.get("/note-templates").status_code == 403
        assert c.get(f"/note-templates/{filling.code}").status_code == 403
        assert c.post(f"/visits/{visit.code}/template", data={"template": filling.code}).status_code == 403
    assert as_role("frontdesk").get(f"/visits/{visit.code}").status_code == 403
    mine = record.create_template(record.TemplateData(title="我的", body={"advice": "x"}), staff["doctor"])
    assert as_role("manager").get(f"/note-templates/{mine.code}").status_code == 404   # a doctor's own stays theirs
    with pytest.raises(ServiceError):
        record.save_template(filling, record.TemplateData(title="改", body={"advice": "y"}), filling.version,
                             staff["doctor"])                                        # the clinic set is the manager's
    with pytest.raises(ServiceError):
        record.create_template(record.TemplateData(title="前台", body={"advice": "y"}), staff["frontdesk"])


def test_manage_pages(staff, as_role):
    manager, doctor = as_role("manager"), as_role("doctor")
    resp = manager.post("/note-templates", data={"title": "拔牙", "treatment": "{tooth} 拔除", "procedure": ""})
    assert resp.status_code == 303
    row = NoteTemplate.get(NoteTemplate.title == "拔牙")
    assert row.owner_id is None and record.fields_of(row) == {"treatment": "{tooth} 拔除"}
    assert manager.post("/note-templates", data={"title": "空", "procedure": ""}).status_code == 422
    resp = doctor.post("/note-templates", data={"title": "我的拔牙", "advice": "咬棉球半小时", "procedure": ""})
    mine = NoteTemplate.get(NoteTemplate.title == "我的拔牙")
    assert mine.owner_id == staff["doctor"].id
    listing = doctor.get("/note-templates").get_data(as_text=True)
    assert "拔牙" in listing and "我的拔牙" in listing
    assert "我的拔牙" not in manager.get("/note-templates").get_data(as_text=True)
    resp = doctor.post(f"/note-templates/{mine.code}", data={"title": "我的拔牙", "advice": "咬棉球40分钟",
                                                              "procedure": "", "active": "y", "version": "1"})
    assert resp.status_code == 303 and record.fields_of(NoteTemplate.get_by_id(mine.id))["advice"] == "咬棉球40分钟"
    stale = doctor.post(f"/note-templates/{mine.code}", data={"title": "我的拔牙", "advice": "旧", "procedure": "",
                                                               "active": "y", "version": "1"})
    assert stale.status_code == 409 and "Demo doctor" in stale.get_data(as_text=True)
    assert AuditEvent.select().where(AuditEvent.object_type == "note_template").count() == 3


def test_sixteen_saves_of_one_loaded_template_make_one_change(app, staff, filling):
    results, errors = race(app, 16, lambda i: record.save_template(
        filling, record.TemplateData(title=f"版本{i}", body={"advice": f"文本{i}"}), 1, staff["manager"]) and i)
    wins = [r for r in results if not isinstance(r, ServiceError)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("changed by Demo manager" in str(c.message) for c in conflicts)
    row = NoteTemplate.get_by_id(filling.id)
    assert row.version == 2 and row.title == f"版本{wins[0]}"


def test_sixteen_note_saves_racing_a_signature(app, staff, visit):
    doc = staff["doctor"]
    visits.update_notes(visit, visits.VisitNotes(chief_complaint="冷敏感", diagnosis="深龋"), doc)

    def work(i, v):
        if i == 0:
            return visits.sign(v, doc) and "signed"
        return visits.update_notes(v, visits.VisitNotes(chief_complaint="冷敏感", diagnosis="深龋",
                                                        past_history=f"既往{i}"), doc) and i
    results, errors = race(app, 16, work, prepare=lambda i: Visit.get_by_id(visit.id))
    assert errors == [] and "signed" in results
    final = Visit.get_by_id(visit.id)
    assert final.status == "signed"
    saved = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(saved) + len(refused) == 15
    assert final.past_history in {""} | {f"既往{i}" for i in saved}
    events = AuditEvent.select().where(AuditEvent.object_ref == visit.code, AuditEvent.action == "update").count()
    assert events == 1 + len(saved) + 1                                # first save, each win, the signature


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_printable_visit_summary_shows_the_structured_record(visit, filling, staff, as_role, tmp_path):
    doc = staff["doctor"]
    visits.update_notes(visit, visits.VisitNotes(**record.apply(filling, visit, {}, doc)), doc)
    visits.sign(visit, doc)
    resp = as_role("doctor").get(f"/visits/{visit.code}/summary.pdf?lang=zh")
    assert resp.status_code == 200
    path = tmp_path / "v.pdf"
    path.write_bytes(resp.data)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "两周前起46" in text and "46 树脂充填" in text
    assert as_role("frontdesk").get(f"/visits/{visit.code}/summary.pdf").status_code == 403


def test_templates_for_the_visits_procedure_come_first_and_others_own_stay_hidden(visit, filling, staff):
    from portal.models import Staff
    from portal.services import catalogue as cat
    from tests.chart_samples import scaling_procedure
    proc = scaling_procedure()
    scaling = record.create_template(record.TemplateData(title="洁治", body={"treatment": "全口龈上洁治"},
                                                         procedure=proc), staff["doctor"])
    other = Staff.create(username="doc2", display_name="Second doctor", role="doctor", password_hash="x")
    record.create_template(record.TemplateData(title="别人的", body={"advice": "x"}), other)
    assert [t.title for t in record.templates_for(staff["doctor"], visit)] == ["深龋充填", "洁治"]
    cat.start(visit, proc, staff["doctor"], alerts_seen=True)
    offered = record.templates_for(staff["doctor"], visit)
    assert [t.code for t in offered] == [scaling.code, filling.code]
    assert [t.title for t in record.templates_for(staff["manager"])] == ["深龋充填"]
