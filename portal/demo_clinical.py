"""Demo procedure catalogue with protocols, and a few charts and visits to look at (idempotent).

The step texts are written for this project; they describe common practice, not any one
clinic's manual.
"""
from datetime import date, timedelta

from portal.models import ChartEntry, Patient, Procedure, Staff
from portal.services import catalogue as cat
from portal.services import chart as charts
from portal.services import chart_visits as visits

ADULT_GENERIC = "术后2小时内勿进食；当天避免过冷过热；如有持续出血或剧痛请致电诊所。"
CHILD_GENERIC = "家长请留意孩子2小时内不要进食，不要咬嘴唇或脸颊（麻药未退时）；有不适随时联系我们。"

SCALING_STEPS = [
    ("核对身份、过敏史，询问有无牙齿敏感", "Confirm identity and allergies; ask about sensitive teeth"),
    ("抗菌漱口水含漱1分钟", "Antiseptic pre-rinse for one minute"),
    ("唇部涂保护剂，佩戴护目镜与胸巾", "Protect lips with lubricant; fit glasses and bib"),
    ("检查全口牙石与牙龈状况并记录", "Survey calculus and gums in all quadrants; note findings"),
    ("调节超声功率与冷却水量", "Set ultrasonic power and cooling water"),
    ("右上区洁治", "Scale the upper right quadrant"),
    ("左上区洁治", "Scale the upper left quadrant"),
    ("左下区洁治", "Scale the lower left quadrant"),
    ("右下区洁治", "Scale the lower right quadrant"),
    ("抛光、冲洗，复查有无残留牙石", "Polish, rinse and check for remaining calculus"),
    ("牙龈按摩，讲解刷牙与牙线方法及术后须知", "Gum massage; brushing and flossing advice; aftercare sheet"),
]
IMPLANT_STEPS = [
    ("CBCT与口内扫描，评估骨量", "CBCT and intraoral scan; assess bone volume"),
    ("数字化设计种植位置并制作导板", "Plan the implant position digitally; make the surgical guide"),
    ("复核知情同意与全身情况", "Review consent and medical history"),
    ("局部麻醉", "Local anaesthesia"),
    ("导板就位并确认稳定", "Seat the guide and check it is stable"),
    ("按序列导板下预备种植窝", "Guided drilling sequence"),
    ("植入种植体，记录扭矩", "Place the implant; record insertion torque"),
    ("安装愈合基台或覆盖螺丝，缝合", "Fit healing abutment or cover screw; suture"),
    ("术后拍片确认位置", "Post-operative radiograph"),
    ("术后医嘱，预约拆线与复查", "Aftercare instructions; book suture removal and review"),
]
RCT_STEPS = [
    ("术前根尖片", "Pre-operative periapical radiograph"),
    ("局部麻醉", "Local anaesthesia"),
    ("橡皮障隔离", "Rubber dam isolation"),
    ("显微镜下开髓", "Access cavity under the microscope"),
    ("显微镜下寻找根管口（含MB2）", "Locate all canal orifices under magnification (incl. MB2)"),
    ("电测与X线确定工作长度", "Working length by apex locator and radiograph"),
    ("机用镍钛器械根管预备", "Shape canals with rotary NiTi files"),
    ("次氯酸钠与EDTA冲洗并超声活化", "Irrigate with hypochlorite and EDTA; activate"),
    ("干燥根管，试主尖拍片", "Dry canals; master cone radiograph"),
    ("热牙胶垂直加压充填", "Obturate with warm vertical compaction"),
    ("暂封或冠方封闭", "Temporary or coronal seal"),
    ("术后根尖片", "Post-operative radiograph"),
]
SEALANT_STEPS = [
    ("清洁窝沟", "Clean the fissures"), ("隔湿", "Isolate with cotton rolls"),
    ("酸蚀、冲洗、吹干", "Etch, rinse and dry"), ("涂布封闭剂并光固化", "Apply sealant and light-cure"),
    ("检查咬合与封闭完整性", "Check bite and seal"),
]
FILLING_STEPS = [
    ("局部麻醉（需要时）", "Local anaesthesia if needed"), ("去腐备洞", "Remove caries; prepare cavity"),
    ("隔湿", "Isolate"), ("粘接处理", "Bonding"), ("分层充填树脂并固化", "Layer composite and cure"),
    ("调𬌗抛光", "Adjust bite and polish"),
]

# (code, zh, en, department, minutes, price in fen, steps, follow-up rules)
CATALOGUE = [
    ("EXM-CHK", "口腔检查", "Oral examination", "diagnostic", 20, 5000, [], []),
    ("PER-SC", "超声波洁治（洗牙）", "Ultrasonic scaling", "periodontal", 45, 28800, SCALING_STEPS,
     [{"after_days": 180, "kind": "recall", "topic": "scaling"}]),
    ("PER-SRP", "龈下刮治及根面平整（每区）", "Scaling and root planing (per quadrant)", "periodontal", 60, 60000,
     [], [{"after_days": 42, "kind": "review", "topic": "periodontal re-evaluation"}]),
    ("PRV-FV", "涂氟", "Fluoride varnish", "preventive", 15, 15000, [],
     [{"after_days": 180, "kind": "recall", "topic": "fluoride"}]),
    ("PRV-PFS", "窝沟封闭（每颗）", "Pit-and-fissure sealant (per tooth)", "preventive", 15, 20000, SEALANT_STEPS,
     [{"after_days": 180, "kind": "review", "topic": "sealant retention"}]),
    ("RES-CR", "树脂充填", "Composite filling", "restorative", 40, 40000, FILLING_STEPS,
     [{"after_days": 3, "kind": "call", "topic": "sensitivity"}]),
    ("RES-CRN", "全瓷冠", "Zirconia crown", "restorative", 60, 380000, [], []),
    ("RES-BRG", "固定桥（每单位）", "Fixed bridge (per unit)", "restorative", 60, 350000, [], []),
    ("RES-VEN", "瓷贴面", "Porcelain veneer", "aesthetic", 60, 420000, [], []),
    ("AES-WHT", "冷光美白", "In-office whitening", "aesthetic", 90, 198000, [], []),
    ("END-MRC", "显微根管治疗", "Microscope root canal treatment", "endodontic", 90, 180000, RCT_STEPS,
     [{"after_days": 2, "kind": "call", "topic": "pain"}, {"after_days": 14, "kind": "review",
                                                             "topic": "crown after root canal"}]),
    ("PED-PUL", "乳牙牙髓切断术", "Primary tooth pulpotomy", "paediatric", 45, 60000, [], []),
    ("SUR-EXT", "拔牙", "Tooth extraction", "surgical", 30, 30000, [],
     [{"after_days": 1, "kind": "call", "topic": "bleeding and pain"}]),
    ("IMP-DIG", "数字化导板种植", "Digital guided implant", "implant", 120, 1280000, IMPLANT_STEPS,
     [{"after_days": 1, "kind": "call", "topic": "swelling"}, {"after_days": 10, "kind": "review",
                                                                "topic": "suture removal"}]),
    ("IMP-MNT", "种植体维护", "Implant maintenance", "implant", 30, 30000, [],
     [{"after_days": 365, "kind": "recall", "topic": "implant check"}]),
    ("PRO-DEN", "活动义齿", "Removable denture", "restorative", 45, 250000, [], []),
    ("ORT-ASM", "正畸评估", "Orthodontic assessment", "orthodontic", 40, 20000, [], []),
]


def seed_catalogue() -> int:
    made = 0
    for code, zh, en, dept, minutes, price, steps, rules in CATALOGUE:
        if Procedure.select().where(Procedure.code == code).exists():
            continue
        cat.save_procedure(cat.ProcedureData(
            code=code, name_zh=zh, name_en=en, department=dept, duration_minutes=minutes, price_fen=price,
            instructions_adult=ADULT_GENERIC, instructions_child=CHILD_GENERIC, followup_rules=rules,
            steps=steps), None)
        made += 1
    return made


def _patient_aged(years: int, today: date) -> Patient | None:
    start = date(today.year - years - 1, today.month, 1) + timedelta(days=40)
    end = date(today.year - years, today.month, 1)
    return Patient.select().where(Patient.birth_date.between(start, end)).order_by(Patient.id).first()


def seed_charts(doctor: Staff, today: date) -> int:
    """A 7-year-old with mixed dentition and an adult with restorations, each with a signed past visit."""
    if ChartEntry.select().exists():
        return 0
    made = 0
    for years, findings in ((7, [("54", "filling", "existing", "OD"), ("84", "caries", "existing", "O"),
                                 ("16", "sealant", "done", "O"), ("26", "caries", "planned", "O")]),
                            (45, [("16", "crown", "existing", ""), ("26", "filling", "existing", "MOD"),
                                  ("36", "root_canal", "existing", ""), ("36", "crown", "existing", ""),
                                  ("46", "missing", "existing", ""), ("47", "mobility", "existing", ""),
                                  ("11", "caries", "planned", "MB")])):
        patient = _patient_aged(years, today)
        if patient is None:
            continue
        visit = visits.open_visit(patient, doctor, today - timedelta(days=120))
        visits.update_notes(visit, visits.VisitNotes(
            chief_complaint="定期检查", examination="全口检查，见下方牙位记录", diagnosis="见牙位图",
            treatment="口腔卫生指导", advice="半年后复查"), doctor)
        for tooth, kind, status, surfaces in findings:
            charts.record(patient, charts.EntryData(tooth, kind, status, surfaces, grade=2 if kind == "mobility"
                                                    else None), doctor, visit.visit_date, visit)
        visits.sign(visit, doctor)
        made += 1
    return made


def seed_clinical(staff: list[Staff], today: date) -> str:
    procedures = seed_catalogue()
    doctor = next((s for s in staff if s.role == "doctor"), None)
    charts_made = seed_charts(doctor, today) if doctor else 0
    from portal.demo_paperwork import seed_paperwork
    paperwork = seed_paperwork(staff, today)  # issue 14: consent, prescription, perio exam, lab cases
    return f"{procedures} procedures, {charts_made} demo charts, {paperwork}"
