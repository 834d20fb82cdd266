"""Chart entries over time: recording, refusals, corrections that never overwrite, the chart on a date."""
from datetime import date, timedelta

import pytest

from portal.models import AuditEvent, ChartEntry
from portal.services import ServiceError
from portal.services import chart as charts
from portal.services import chart_visits as visits

D1, D2, D3 = date(2025, 3, 1), date(2025, 9, 1), date(2026, 3, 1)


@pytest.fixture()
def child(make_patient):
    return make_patient(name="王小童", birth_date=date(2018, 9, 1))


def E(tooth, kind="caries", status="existing", surfaces="O", **kw):  # noqa: N802
    return charts.EntryData(tooth=tooth, kind=kind, status=status, surfaces=surfaces, **kw)


def test_record_and_build_a_chart(child, staff):
    doc = staff["doctor"]
    charts.record(child, E(75), doc, D1)
    charts.record(child, E(36, "sealant", "done"), doc, D1)
    view = charts.build(child, D3)
    assert view.dentition == "mixed"
    assert view.teeth[35].tooth == 75 and view.teeth[35].has("caries")
    assert view.teeth[36].surface_fill("O").kind == "sealant"
    assert AuditEvent.select().where(AuditEvent.object_type == "chart_entry").count() == 2


@pytest.mark.parametrize("data, field", [
    (E(19), "tooth"), (E(56), "tooth"), (E(0), "tooth"), (E("ab"), "tooth"),
    (E(11, surfaces="O"), "surfaces"), (E(36, surfaces="I"), "surfaces"), (E(36, surfaces="Z"), "surfaces"),
    (E(36, surfaces=""), "surfaces"), (E(36, "crown", surfaces="O"), "surfaces"),
    (E(36, "mobility", surfaces="", grade=5), "grade"), (E(36, "laser"), "kind"), (E(36, status="maybe"), "status"),
])
def test_invalid_entries_are_refused_with_the_field_named(child, staff, data, field):
    with pytest.raises(ServiceError) as err:
        charts.record(child, data, staff["doctor"], D1)
    assert err.value.field == field and str(err.value.message)
    assert ChartEntry.select().count() == 0


def test_the_chart_on_an_earlier_date_does_not_show_later_entries(child, staff):
    doc = staff["doctor"]
    charts.record(child, E(75), doc, D1)
    charts.record(child, E(36, "sealant", "done"), doc, D2)
    early, late = charts.build(child, D1), charts.build(child, D2)
    assert early.teeth[35].has("caries") and not early.teeth[36].entries
    assert late.teeth[36].has("sealant")
    assert late.dates == [D1, D2]


def test_a_correction_replaces_but_never_overwrites(child, staff):
    doc = staff["doctor"]
    wrong = charts.record(child, E(36, surfaces="M"), doc, D1)
    fixed = charts.correct(wrong, E(36, surfaces="MO"), doc, D2)
    assert ChartEntry.get_by_id(wrong.id).surfaces == "M"          # the original row is untouched
    assert fixed.corrects_id == wrong.id
    assert [e.surfaces for e in charts.build(child, D1).teeth[36].entries] == ["M"]   # as it stood then
    assert [e.surfaces for e in charts.build(child, D3).teeth[36].entries] == ["MO"]  # as it stands now
    history = charts.tooth_history(charts.entries_of(child), 36)
    assert [e.id for e in history] == [fixed.id, wrong.id]
    assert charts.corrected_ids(charts.entries_of(child))[wrong.id].id == fixed.id
    with pytest.raises(ServiceError):
        charts.correct(wrong, E(36, surfaces="D"), doc, D3)      # correct the latest version instead
    again = charts.correct(fixed, E(36, "filling", "done", "MO"), doc, D3)  # a chain: planned → done, etc.
    assert [e.kind for e in charts.build(child, D3).teeth[36].entries] == ["filling"]
    assert again.corrects_id == fixed.id


def test_withdrawing_an_entry_needs_a_reason_and_keeps_it_in_history(child, staff):
    doc = staff["doctor"]
    wrong = charts.record(child, E(75), doc, D1)
    with pytest.raises(ServiceError):
        charts.correct(wrong, None, doc, D2, reason="  ")
    withdrawal = charts.correct(wrong, None, doc, D2, reason="wrong patient")
    assert withdrawal.entered_in_error
    assert charts.build(child, D3).teeth[35].entries == []
    assert charts.build(child, D1).teeth[35].entries[0].id == wrong.id
    with pytest.raises(ServiceError):
        charts.correct(withdrawal, E(75), doc, D3)


def test_extraction_done_changes_the_dentition(child, staff):
    doc = staff["doctor"]
    charts.record(child, E(85, "extraction", "planned", ""), doc, D1)
    assert charts.build(child, D1).teeth[45].slot.state == "present"   # planned: still there
    charts.record(child, E(85, "extraction", "done", ""), doc, D2)
    assert charts.build(child, D2).teeth[45].slot.state == "absent"


def test_findings_cannot_be_added_to_a_signed_visit(child, staff):
    doc = staff["doctor"]
    visit = visits.open_visit(child, doc, D1)
    visits.update_notes(visit, visits.VisitNotes(chief_complaint="牙痛", diagnosis="龋齿"), doc)
    charts.record(child, E(75), doc, D3, visit)
    assert ChartEntry.get().recorded_on == D1                        # dated by its visit
    visit = visits.sign(visit, doc)
    with pytest.raises(ServiceError):
        charts.record(child, E(74), doc, D3, visit)


def test_chart_page_queries_do_not_grow_with_history(app, as_role, child, staff):
    from tests.statements import statements_of
    doc = staff["doctor"]
    client = as_role("doctor")
    charts.record(child, E(75), doc, D1)
    few = statements_of(client, f"/patients/{child.code}/chart")
    for n in range(60):
        charts.record(child, E([16, 26, 36, 46][n % 4], "caries", "existing", "O"), doc, D1 + timedelta(days=n))
    assert statements_of(client, f"/patients/{child.code}/chart") == few


def test_database_and_python_agree_on_what_is_in_effect(child, staff):
    doc = staff["doctor"]
    a = charts.record(child, E(75), doc, D1)
    b = charts.record(child, E(36, "sealant", "done"), doc, D1)
    charts.correct(a, E(75, surfaces="OD"), doc, D2)
    charts.correct(b, None, doc, D2, reason="wrong tooth")
    charts.record(child, E(36, "caries", "planned", "M"), doc, D3)
    entries = charts.entries_of(child)
    for day in (D1 - timedelta(days=1), D1, D2, D3):
        assert [e.id for e in charts.current_entries(child, day)] == [e.id for e in charts.in_effect(entries, day)]
    assert charts.recent_dates(child) == [D1, D2, D3]


def test_a_correction_stays_on_its_tooth(child, staff):
    wrong = charts.record(child, E(75), staff["doctor"], D1)
    with pytest.raises(ServiceError) as err:
        charts.correct(wrong, E(74), staff["doctor"], D2)
    assert err.value.field == "tooth"
