"""The lab sheet (技工单) that goes with the impression or scan to the lab: clinic, case number, the
patient as far as the lab needs to know them (name, chart number, sex, age: no phone, ID number or
address), the ordering doctor, the work, the teeth on an FDI cross, shade, material, the lab, sent and
due dates, the note, and lines to sign. Auditing is the caller's job."""
from datetime import date

from portal.models import Staff
from portal.models.lab_cases import LabCase
from portal.reports.printouts import _common
from portal.reports.render import render_pdf
from portal.services import lab_cases as labs
from portal.services.identity import age_on

# FDI quadrants as a dentist draws them facing the patient: upper right | upper left over
# lower right | lower left, each row read from the patient's right to left.
PERMANENT = ([18, 17, 16, 15, 14, 13, 12, 11], [21, 22, 23, 24, 25, 26, 27, 28],
             [48, 47, 46, 45, 44, 43, 42, 41], [31, 32, 33, 34, 35, 36, 37, 38])
PRIMARY = ([55, 54, 53, 52, 51], [61, 62, 63, 64, 65], [85, 84, 83, 82, 81], [71, 72, 73, 74, 75])


def ordered_teeth(case: LabCase) -> set[int]:
    return {int(t) for t in (case.teeth or "").split(",") if t.strip().isdigit()}


def lab_sheet(case: LabCase, today: date, actor: Staff | None) -> bytes:
    teeth = ordered_teeth(case)
    primary = any(51 <= t <= 85 for t in teeth)
    return render_pdf("print/lab_case.html", case=case, patient=case.patient, lab=case.lab, doctor=case.created_by,
                      works=labs.WORK_LABELS, age=age_on(case.patient.birth_date, case.sent_on), teeth=teeth,
                      crosses=[PERMANENT] + ([PRIMARY] if primary else []),
                      **_common(today, actor.display_name if actor else ""))
