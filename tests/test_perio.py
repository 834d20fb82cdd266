"""Perio charts (issue 14): CAL from the readings as charted, the summary figures, the probing path,
who records and who confirms, a confirmed exam locked (also under a 16-way race), the comparison,
the special recall, the audit trail, and no front desk anywhere near it."""
import json

import pytest

from portal.models import AuditEvent
from portal.models.perio import PerioExam
from portal.services import Conflict, ServiceError
from portal.services import perio
from tests.clock import clinic_today
from tests.races import race

HX = {"HX-Request": "true", "HX-Target": "perio-status"}


def grid(values: dict) -> dict:
    """{(tooth, kind, site): value} -> form fields."""
    out = {}
    for (t, kind, site), v in values.items():
        out[perio.field_name(t, kind, site)] = v
    return out


@pytest.fixture()
def patient(app, make_patient):
    with app.app_context():
        return make_patient(name="周牙周")


@pytest.fixture()
def exam(app, staff, patient):
    with app.app_context():
        return perio.open_exam(patient, staff["nurse"], clinic_today())


# --- the arithmetic ------------------------------------------------------------------------------

@pytest.mark.parametrize("pd, gm, expected", [(3, 0, 3), (5, 2, 7), (5, -2, 3), (2, -3, -1), (0, 0, 0),
                                              (None, 2, None), (4, None, None)])
def test_cal_is_probing_depth_plus_recession_signs_as_charted(pd, gm, expected):
    assert perio.cal(pd, gm) == expected


def test_stored_readings_come_back_with_cal(app, staff, exam):
    with app.app_context():
        saved = perio.save_readings(exam, grid({(16, "pd", 0): "5", (16, "gm", 0): "-2", (16, "pd", 1): "4",
                                                (16, "gm", 1): "3", (16, "pd", 2): "2"}), staff["nurse"])
        r = perio.readings_of(saved)[16]
        assert r["cal"][:3] == [3, 7, None]


def test_summary_figures(app, staff, exam):
    values = {(11, "pd", 0): "3", (11, "pd", 1): "4", (11, "pd", 2): "6", (11, "pd", 3): "7",
              (11, "gm", 0): "1", (11, "gm", 1): "-1", (11, "gm", 2): "0", (11, "gm", 3): "2",
              (11, "bop", 1): "y", (11, "bop", 2): "y", (11, "bop", 3): "y", (11, "pl", 0): "y"}
    with app.app_context():
        saved = perio.save_readings(exam, grid(values), staff["nurse"])
        f = perio.summary_of(saved)
        assert f == {"sites": 4, "ge4": 3, "ge6": 2, "bop_pct": 75.0, "plaque_pct": 25.0, "mean_cal": 5.5}
        assert saved.sites_4mm == 3
        assert perio.summary(perio.readings_of(saved)) == f


def test_the_probing_path_covers_every_site_once_in_the_usual_order():
    order = perio.entry_order(28)
    assert len(order) == 168 and len(set(order)) == 168
    assert order[0] == (17, 2) and order[3] == (16, 2)      # upper buccal from 17, distal site first
    assert order[41] == (27, 2)                              # ... to 27 disto-buccal
    assert order[42] == (27, 5)                              # then palatal back from 27
    assert order[84] == (47, 2)                              # lower buccal from 47
    assert order[-1] == (47, 5)                              # and lingual back to 47
    assert len(perio.entry_order(32)) == 192 and perio.entry_order(32)[0] == (18, 2)


def test_bad_readings_are_refused_with_the_field(app, staff, exam):
    with app.app_context():
        for bad in ({(16, "pd", 0): "x"}, {(16, "pd", 0): "16"}, {(16, "gm", 0): "-11"},
                    {(16, "mob", None): "4"}):
            with pytest.raises(ServiceError) as err:
                perio.save_readings(exam, grid(bad), staff["nurse"])
            assert err.value.field.startswith("t16_")


# --- who does what ---------------------------------------------------------------------------------

def test_nurse_records_doctor_confirms_and_the_exam_locks(app, staff, exam):
    with app.app_context():
        perio.save_readings(exam, grid({(36, "pd", 1): "5"}), staff["nurse"])
        with pytest.raises(ServiceError):
            perio.confirm(exam, staff["nurse"])
        done = perio.confirm(exam, staff["doctor"])
        assert done.status == "confirmed" and done.confirmed_by_id == staff["doctor"].id
        with pytest.raises(Conflict) as err:
            perio.save_readings(exam, grid({(36, "pd", 1): "3"}), staff["nurse"])
        assert "already confirmed by Demo doctor" in str(err.value.message)
        assert perio.readings_of(PerioExam.get_by_id(exam.id))[36]["pd"][1] == 5


def test_an_empty_exam_is_not_confirmed(app, staff, exam):
    with app.app_context(), pytest.raises(ServiceError):
        perio.confirm(exam, staff["doctor"])


def test_a_stale_page_does_not_overwrite_newer_readings(app, staff, exam):
    with app.app_context():
        perio.save_readings(exam, grid({(11, "pd", 0): "3"}), staff["nurse"], version=1)
        with pytest.raises(Conflict) as err:
            perio.save_readings(exam, grid({(11, "pd", 0): "9"}), staff["doctor"], version=1)
        assert "Demo nurse" in str(err.value.message)


def test_sixteen_confirms_make_one(app, staff, exam):
    with app.app_context():
        perio.save_readings(exam, grid({(11, "pd", 0): "4"}), staff["nurse"])
    results, errors = race(app, 16, lambda i, e: perio.confirm(e, staff["doctor"]) and i,
                           prepare=lambda i: PerioExam.get_by_id(exam.id))
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    with app.app_context():
        events = [e for e in AuditEvent.select().where(AuditEvent.object_type == "perio_exam",
                                                       AuditEvent.object_ref == exam.code)
                  if e.detail and json.loads(e.detail).get("confirmed")]
        assert len(events) == 1


# --- comparing and the recall ----------------------------------------------------------------------

def test_compare_marks_better_and_worse(app, staff, patient):
    with app.app_context():
        old = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(old, grid({(16, "pd", 0): "6", (16, "pd", 1): "3", (16, "pd", 2): "4"}), staff["nurse"])
        new = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(new, grid({(16, "pd", 0): "4", (16, "pd", 1): "5", (16, "pd", 2): "4"}), staff["nurse"])
        assert perio.previous_exam(PerioExam.get_by_id(new.id)).id == old.id
        result = perio.compare(PerioExam.get_by_id(old.id), PerioExam.get_by_id(new.id))
        assert result["teeth"][16]["marks"][:3] == ["better", "worse", ""]
        assert (result["better"], result["worse"]) == (1, 1)


def test_a_confirmed_exam_with_pockets_makes_the_recall_special(app, staff, patient, exam):
    with app.app_context():
        perio.save_readings(exam, grid({(46, "pd", 0): "5"}), staff["nurse"])
        assert not perio.perio_marks(patient.id, clinic_today())  # a draft does not count
        perio.confirm(exam, staff["doctor"])
        assert perio.perio_marks(patient.id, clinic_today())
        healthy = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(healthy, grid({(46, "pd", 0): "3"}), staff["nurse"])
        perio.confirm(healthy, staff["doctor"])
        assert not perio.perio_marks(patient.id, clinic_today())  # the latest confirmed exam decides


def test_is_special_reads_the_perio_exam(app, staff, patient, exam):
    from portal.models import FollowupRule
    from portal.services import followups
    with app.app_context():
        rule = FollowupRule(applies_to="", event="recall_special")
        assert not followups.is_special(patient.id, rule, clinic_today())
        perio.save_readings(exam, grid({(46, "pd", 0): "6"}), staff["nurse"])
        perio.confirm(exam, staff["doctor"])
        assert followups.is_special(patient.id, rule, clinic_today())


# --- the pages -------------------------------------------------------------------------------------

def test_pages_for_each_role(app, as_role, patient, exam):
    pages = [f"/patients/{patient.code}/perio", f"/perio/{exam.code}"]
    for role in ("doctor", "nurse", "consultant", "manager"):
        c = as_role(role)
        for url in pages:
            assert c.get(url).status_code == 200, (role, url)
    desk = as_role("frontdesk")
    for url in pages + [f"/perio/{exam.code}/print.pdf"]:
        assert desk.get(url).status_code == 403, url
    for url, data in ((f"/patients/{patient.code}/perio", {}), (f"/perio/{exam.code}", {}),
                      (f"/perio/{exam.code}/confirm", {})):
        assert desk.post(url, data=data).status_code == 403
    assert as_role("consultant").post(f"/perio/{exam.code}", data={}).status_code == 403
    assert as_role("nurse").post(f"/perio/{exam.code}/confirm").status_code == 403


def test_nurse_enters_by_form_and_htmx_doctor_confirms(app, as_role, patient):
    nurse = as_role("nurse")
    resp = nurse.post(f"/patients/{patient.code}/perio", data={"teeth": "28"})
    assert resp.status_code == 303
    url = resp.headers["Location"]
    page = nurse.get(url).get_data(as_text=True)
    assert 'data-order="17:2 17:1 17:0 16:2' in page and 'name="t16_pd_0"' in page
    resp = nurse.post(url, data={"version": "1", **grid({(16, "pd", 0): "5", (16, "gm", 0): "1",
                                                        (16, "bop", 0): "y"})}, headers=HX)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="perio-status"' in body and 'name="version" value="2"' in body
    assert 'id="perio-summary"' in body and 'hx-swap-oob="true"' in body and "<html" not in body
    stale = nurse.post(url, data={"version": "1", **grid({(16, "pd", 0): "2"})}, headers=HX)
    assert stale.status_code == 409
    doctor = as_role("doctor")
    assert doctor.post(url + "/confirm").status_code == 303
    page = doctor.get(url).get_data(as_text=True)
    assert 'name="t16_pd_0"' not in page and "deep" in page
    assert nurse.post(url, data={"version": "2"}).status_code == 409
    code = url.rsplit("/", 1)[-1]
    with app.app_context():
        kinds = {(e.action, e.object_type) for e in AuditEvent.select().where(AuditEvent.object_ref == code)}
        assert {("create", "perio_exam"), ("update", "perio_exam"), ("read", "perio_exam")} <= kinds


def test_compare_page_and_pdf(app, as_role, staff, patient):
    with app.app_context():
        old = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(old, grid({(16, "pd", 0): "6"}), staff["nurse"])
        new = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(new, grid({(16, "pd", 0): "3"}), staff["nurse"])
    c = as_role("doctor")
    page = c.get(f"/perio/{new.code}/compare").get_data(as_text=True)
    assert "mark better" in page
    assert c.get(f"/perio/{new.code}/compare?with=NOPE").status_code == 404
    pdf = c.get(f"/perio/{new.code}/print.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == "perio_exam",
                                         AuditEvent.object_ref == new.code).count() == 1


def test_patient_link_shows_confirmed_exams_in_plain_words(app, staff, patient, make_patient):
    from portal.services import patient_links as links
    with app.app_context():
        done = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(done, grid({(46, "pd", 0): "5", (46, "bop", 0): "y"}), staff["nurse"])
        perio.confirm(done, staff["doctor"])
        draft = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(draft, grid({(46, "pd", 0): "3"}), staff["nurse"])
        other = perio.open_exam(make_patient(name="别人家"), staff["nurse"], clinic_today())
        perio.save_readings(other, grid({(46, "pd", 0): "3"}), staff["nurse"])
        perio.confirm(other, staff["doctor"])
    with app.test_request_context():
        issued = links.issue(patient, "patient", None, app.config)
    client = app.test_client()
    client.post(f"/p/{issued.token}")
    assert client.post("/p/check", data={"answer": patient.birth_date.isoformat()}).status_code == 303
    html = client.get("/p/home").get_data(as_text=True)
    assert f"/p/perio/{done.code}.pdf" in html and draft.code not in html
    assert "Places 4 mm or deeper: 1" in html and "gums bled at 100.0% of places" in html
    pdf = client.get(f"/p/perio/{done.code}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/p/perio/{draft.code}.pdf").status_code == 404
    assert client.get(f"/p/perio/{other.code}.pdf").status_code == 404
    with app.app_context():
        assert AuditEvent.select().where(AuditEvent.actor_label == "patient-link", AuditEvent.action == "print",
                                         AuditEvent.object_ref == done.code).exists()
    assert not app.test_client().get(f"/p/perio/{done.code}.pdf").data.startswith(b"%PDF")


def test_compare_reads_old_to_new_whichever_exam_is_picked(app, as_role, staff, patient):
    from datetime import timedelta
    with app.app_context():
        old = perio.open_exam(patient, staff["nurse"], clinic_today() - timedelta(days=90))
        perio.save_readings(old, grid({(16, "pd", 0): "6"}), staff["nurse"])
        new = perio.open_exam(patient, staff["nurse"], clinic_today())
        perio.save_readings(new, grid({(16, "pd", 0): "3"}), staff["nurse"])
    page = as_role("doctor").get(f"/perio/{old.code}/compare?with={new.code}").get_data(as_text=True)
    assert '<span class="mark better" role="img"' in page and '<span class="mark worse" role="img"' not in page
