"""Demo clinical paperwork (issue 14), so a tour finds each kind filled in: an adult patient with a
signed extraction consent (drawn signatures), a signed prescription, a confirmed perio exam with a
few pockets and a crown at the lab; another patient's denture overdue from the lab. A handful of
rows through the same services the screens use; nothing is made twice."""
import json
import math
from datetime import date, timedelta

from portal.models import Patient, Staff
from portal.models.lab_cases import LabCase
from portal.services import chart_visits as visits
from portal.services import consent as consents
from portal.services import lab_cases as labs
from portal.services import perio
from portal.services import prescriptions as rxs

# Probing depths (mm) of the six sites MB, B, DB, ML, L, DL where they are not 2–3 mm, with
# bleeding where the pocket is 4 mm or deeper: an early periodontitis around the molars.
POCKETS = {16: (5, 3, 4, 5, 3, 4), 17: (4, 3, 4, 4, 3, 3), 26: (4, 3, 3, 4, 3, 5), 36: (3, 3, 4, 3, 3, 4),
           46: (6, 4, 5, 5, 3, 4), 47: (4, 3, 3, 4, 3, 3)}
RECESSION = {31: 1, 41: 1, 24: 1}  # mm of recession at the buccal site
MOBILE = {46: 1}


def _adult_patients(today: date, how_many: int) -> list[Patient]:
    """Adults with nothing on file that a prescription check would stop at: the demo stays one
    deterministic run (the first patients registered, by id)."""
    born_before = date(today.year - 30, today.month, 1)
    return list(Patient.select().where(Patient.birth_date < born_before, Patient.allergies == "",
                                       Patient.medical_alerts == "").order_by(Patient.id).limit(how_many))


def _signature(x0: float, width: float, loops: int) -> str:
    """A scribbled signature as the tablet's pad posts it: strokes of points with a time in ms."""
    strokes = []
    for part in range(2):
        points = []
        for i in range(24):
            x = x0 + part * width / 2 + i * width / 50
            y = 50 + 22 * math.sin(i / 24 * loops * math.pi + part) * (1 - i / 40)
            points.append({"x": round(x, 1), "y": round(y, 1), "time": 1000 * part + 16 * i})
        strokes.append(points)
    return json.dumps(strokes)


def _perio_grid(count: int) -> dict:
    grid = {}
    for tooth in perio.teeth_of(count):
        depths = POCKETS.get(tooth, tuple(2 + (tooth + site) % 2 for site in range(6)))
        for site, depth in enumerate(depths):
            grid[perio.field_name(tooth, "pd", site)] = str(depth)
            grid[perio.field_name(tooth, "gm", site)] = str(RECESSION.get(tooth, 0) if site == 1 else 0)
            if depth >= 4:
                grid[perio.field_name(tooth, "bop", site)] = "1"
            if tooth in POCKETS and site in (0, 3):
                grid[perio.field_name(tooth, "pl", site)] = "1"
        if tooth in MOBILE:
            grid[perio.field_name(tooth, "mob")] = str(MOBILE[tooth])
    return grid


def seed_paperwork(staff: list[Staff], today: date, config=None) -> str:
    if LabCase.select().exists():
        return "paperwork already there"
    doctor = next((s for s in staff if s.role == "doctor"), None)
    nurse = next((s for s in staff if s.role == "nurse"), None)
    manager = next((s for s in staff if s.role == "manager"), None)
    patients = _adult_patients(today, 2)
    if doctor is None or nurse is None or manager is None or len(patients) < 2:
        return "no paperwork (too few staff or patients)"
    tour, other = patients
    consents.seed()

    visit = visits.open_visit(tour, doctor, today - timedelta(days=14))
    form = consents.create(tour, "extraction", doctor, "zh_CN", tooth="38", visit=visit)
    consents.sign(form, doctor, today - timedelta(days=14), "patient", "", "", _signature(20, 220, 5),
                  _signature(30, 180, 4), config)
    lines = [rxs.Line("IBUP", "300", "bid", "3", "1", "疼痛时服用，饭后"),
             rxs.Line("CHXM", "15", "bid", "7", "1", "拔牙24小时后含漱")]
    in_catalogue = {drug.code for drug in rxs.catalogue()}
    if all(line.drug in in_catalogue for line in lines):  # migration 0018 seeds them; a manager may retire one
        rx = rxs.write(visit, rxs.Draft(lines=lines, diagnosis="38 阻生齿", weight_kg="65"), doctor,
                       visit.visit_date)
        rxs.sign(rx, doctor, config)
    visits.update_notes(visit, visits.VisitNotes(
        chief_complaint="右下后牙反复肿痛", examination="38 近中阻生，冠周红肿", diagnosis="38 阻生齿伴冠周炎",
        treatment="知情同意后局麻下拔除38", advice="咬紧纱布40分钟；24小时内勿漱口；按处方服药"), doctor)
    visits.sign(visit, doctor)

    exam = perio.open_exam(tour, nurse, today - timedelta(days=7))
    exam = perio.save_readings(exam, _perio_grid(exam.teeth), nurse, version=exam.version, config=config)
    perio.confirm(exam, doctor, config)

    lab = labs.save_lab("华美义齿加工厂", "021-55550000", "王师傅", manager)
    labs.save_lab("精雕数字化义齿中心", "021-66660000", "李工", manager)
    crown = labs.order(tour, labs.CaseData(lab=lab, work_type="crown", teeth="26", shade="A2", material="氧化锆全瓷",
                                           sent_on=today - timedelta(days=4), due_on=today + timedelta(days=3),
                                           lab_fee_fen=60000, price_fen=380000, note="邻接触点稍紧，咬合面轻度开窗"),
                       doctor, today)
    labs.set_status(crown, "in_progress", nurse, today)
    labs.order(other, labs.CaseData(lab=lab, work_type="partial_denture", teeth="35,36,37", shade="A3",
                                    material="钴铬合金支架", sent_on=today - timedelta(days=15),
                                    due_on=today - timedelta(days=2), lab_fee_fen=90000, price_fen=250000),
               doctor, today)
    return "a signed consent, a signed prescription, a confirmed perio exam, two lab cases"
