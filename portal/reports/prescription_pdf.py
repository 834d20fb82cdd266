"""The prescription printout (处方笺), laid out as a Chinese outpatient prescription: clinic, 科别,
patient, sex, age, chart number, date, diagnosis, the Rp lines, the doctor's signature line and the
审核 / 调配 / 核对 lines for the pharmacy. Auditing is the caller's job."""
from datetime import date

from portal.models import Staff
from portal.models.prescription import Prescription
from portal.reports.printouts import _common
from portal.reports.render import render_pdf
from portal.services import prescriptions as rxs


def prescription(rx: Prescription, today: date, actor: Staff | None) -> bytes:
    return render_pdf("print/prescription.html", rx=rx, patient=rx.patient, lines=rxs.lines_of(rx),
                      freq=rxs.FREQUENCY_LABELS, routes=rxs.ROUTE_LABELS, units=rxs.UNIT_LABELS,
                      num=rxs._num, age=rxs.age_on(rx.patient.birth_date, rx.created_at.date()),
                      **_common(today, actor.display_name if actor else ""))
