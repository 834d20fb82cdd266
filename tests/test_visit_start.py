"""Starting a visit from an appointment (issue 13), and yesterday's drafts never chosen silently."""
from datetime import date, timedelta

import pytest

from portal.services import chart_visits as visits
from tests.clock import clinic_today


@pytest.fixture()
def patient(make_patient):
    return make_patient(name="孙三", birth_date=date(1975, 7, 7))


def test_unsigned_drafts_lists_the_doctors_drafts_before_a_day_in_one_query(app, staff, patient):
    from tests.statements import StatementCounter
    today = clinic_today()
    doc = staff["doctor"]
    old = visits.open_visit(patient, doc, today - timedelta(days=3))
    older = visits.open_visit(patient, doc, today - timedelta(days=9))
    visits.open_visit(patient, doc, today)  # today's: not a left-over
    signed = visits.open_visit(patient, doc, today - timedelta(days=2))
    visits.update_notes(signed, visits.VisitNotes(chief_complaint="x", diagnosis="y"), doc)
    visits.sign(signed, doc)
    with StatementCounter() as counter:
        drafts = visits.unsigned_drafts(doc, before=today)
        names = [v.patient.name for v in drafts]
    assert counter.count == 1
    assert [v.id for v in drafts] == [older.id, old.id] and names == ["孙三", "孙三"]
