"""Prescriptions under races (issue 14): sixteen signs make one signature, sixteen voids one voiding;
the losers are told who and when; a void racing the signature leaves a consistent record."""
import json

import pytest

from portal.models import AuditEvent
from portal.models.prescription import Prescription
from portal.services import Conflict, ServiceError
from portal.services import chart_visits as visits
from portal.services import prescriptions as rxs
from tests.clock import clinic_today
from tests.prescription_samples import ensure_drugs, line
from tests.races import race


def _split(results, errors):
    wins = [r for r in results if r is not None and not isinstance(r, ServiceError)]
    conflicts = [str(r.message) for r in results if isinstance(r, Conflict)]
    errors = errors + [repr(r) for r in results if isinstance(r, ServiceError) and not isinstance(r, Conflict)]
    return wins, conflicts, errors


@pytest.fixture()
def draft(app, staff, make_patient):
    ensure_drugs()
    visit = visits.open_visit(make_patient(name="钱处方"), staff["doctor"], clinic_today())
    return rxs.write(visit, rxs.Draft(lines=[line("PARA", 500)], diagnosis="急性牙髓炎"), staff["doctor"], clinic_today())


def _events(rx, key):
    return [e for e in AuditEvent.select().where(AuditEvent.object_type == "prescription",
                                                 AuditEvent.object_ref == rx.code)
            if e.detail and key in json.loads(e.detail)]


def test_sixteen_signs_make_one_signature(app, staff, draft):
    results, errors = race(app, 16, lambda i, rx: rxs.sign(rx, staff["doctor"]) and i,
                           prepare=lambda i: Prescription.get_by_id(draft.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("signed by Demo doctor at" in c for c in conflicts)
    assert len(_events(draft, "signed")) == 1 and Prescription.get_by_id(draft.id).status == "signed"


def test_sixteen_voids_make_one(app, staff, draft):
    rxs.sign(draft, staff["doctor"])
    results, errors = race(app, 16, lambda i, rx: rxs.void(rx, f"写错了 {i}", staff["doctor"]) and i,
                           prepare=lambda i: Prescription.get_by_id(draft.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == [] and len(wins) == 1 and len(conflicts) == 15
    assert all("voided by Demo doctor at" in c for c in conflicts)
    assert len(_events(draft, "void")) == 1
    current = Prescription.get_by_id(draft.id)
    assert current.status == "void" and current.void_reason == f"写错了 {wins[0]}"


def test_signs_and_voids_together_leave_one_story(app, staff, draft):
    def work(i, rx):
        return (rxs.sign(rx, staff["doctor"]) if i % 2 else rxs.void(rx, "重开", staff["doctor"])) and i
    results, errors = race(app, 16, work, prepare=lambda i: Prescription.get_by_id(draft.id))
    wins, conflicts, errors = _split(results, errors)
    assert errors == []
    current = Prescription.get_by_id(draft.id)
    assert current.status == "void" and len(_events(draft, "void")) == 1
    assert len(_events(draft, "signed")) <= 1 and len(wins) == 1 + len(_events(draft, "signed"))
