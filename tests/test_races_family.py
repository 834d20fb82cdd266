"""Family moves under races (issue 13): sixteen desks bring the same patient into a family at the
same instant, through the picker's form (POST /families/<code>/members). One moves them and the
audit trail records one move; the others are refused (409, or 422 when they read
the patient after the move): the patient is already there. Also sixteen desks
moving sixteen different patients into one family: all sixteen arrive, no error, no lock."""
from portal.models import AuditEvent, Patient
from portal.services import patients as registry
from tests.conftest import sign_in
from tests.races import race

N = 16


def _desks(app, person, n=N):
    return [sign_in(app.test_client(), person) for _ in range(n)]


def test_sixteen_desks_bring_one_patient_into_a_family_once(app, staff, make_patient):
    contact = make_patient(name="周伟", phone="13900001111")
    family = registry.create_family("周家", contact, staff["frontdesk"])
    newcomer = make_patient(name="李娜", phone="13700002222")
    desks = _desks(app, staff["frontdesk"])
    results, errors = race(app, N, lambda i: desks[i].post(f"/families/{family.code}/members",
                                                           data={"patient": newcomer.code}))
    assert errors == []
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 303 and codes.count(303) == 1 and set(codes[1:]) <= {409, 422}, codes
    # 409 for a desk whose move lost inside its unit of work; 422 for one that read the patient
    # after the winner's commit: either way, they are told why
    assert all("李娜 is already in this family." in r.get_data(as_text=True) for r in results if r.status_code != 303)
    assert Patient.get_by_id(newcomer.id).family_id == family.id
    moves = AuditEvent.select().where(AuditEvent.action == "update", AuditEvent.object_type == "family",
                                      AuditEvent.patient_id == newcomer.id)
    assert moves.count() == 1
    page = desks[0].get(f"/families/{family.code}").get_data(as_text=True)
    assert "李娜" in page


def test_sixteen_desks_bring_sixteen_patients_into_one_family(app, staff, make_patient):
    contact = make_patient(name="周伟", phone="13900001111")
    family = registry.create_family("周家", contact, staff["frontdesk"])
    people = [make_patient(name="家" + "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳"[i], phone=f"1371000{i:04d}") for i in range(N)]
    desks = _desks(app, staff["consultant"])
    results, errors = race(app, N, lambda i: desks[i].post(f"/families/{family.code}/members",
                                                           data={"patient": people[i].chart_no}))
    assert errors == []
    assert sorted(r.status_code for r in results) == [303] * N
    assert Patient.select().where(Patient.family == family).count() == N + 1
