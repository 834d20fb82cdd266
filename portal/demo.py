"""`portal demo`: a believable small clinic to try every screen with (idempotent).

Names, ages and families are generated from a fixed seed, so every install shows the same
clinic: about 300 households and 800 people from toddlers to great-grandparents.
"""
import random
from datetime import date, timedelta

from portal.db import unit_of_work
from portal.models import Patient, Staff, Tag, utcnow
from portal.services import patients as registry
from portal.services.auth import hash_password

DEMO_STAFF = [
    ("doctor", "王建国", "doctor"), ("doctor2", "李婉清", "doctor"), ("nurse", "陈晓燕", "nurse"),
    ("frontdesk", "刘芳", "frontdesk"), ("consultant", "赵敏", "consultant"), ("manager", "孙立新", "manager"),
]
# (name, English name, colour, clinical alert): the demo's tags read in both languages (portal.labels).
DEMO_TAGS = [("儿童患者", "Child patient", "#f59e0b", False), ("种植牙客户", "Implant patient", "#6366f1", False),
             ("正畸患者", "Orthodontic patient", "#0ea5e9", False), ("牙周病患者", "Periodontal patient", "#dc2626", False),
             ("牙齿敏感", "Sensitive teeth", "#db2777", True), ("VIP", "VIP", "#a16207", False),
             ("老年患者", "Elderly patient", "#64748b", False)]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN_M = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国庆志文博晨睿轩泽"
GIVEN_F = "芳娜敏静丽艳娟霞燕玲桂芬英华慧巧美娅婷雪琳晶颖倩琪悦欣怡涵萱彤梦瑶佳雨诗梓"
STREETS = ["幸福路", "人民路", "建设大街", "滨江道", "学府路", "和平里", "长安街", "新华路"]


def _name(rng: random.Random, surname: str, sex: str) -> str:
    pool = GIVEN_M if sex == "M" else GIVEN_F
    return surname + "".join(rng.choice(pool) for _ in range(rng.choice((1, 2, 2))))


def _birth(rng: random.Random, today: date, low: int, high: int) -> date:
    return today - timedelta(days=rng.randint(low * 365 + 30, high * 365 + 300))


def _phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "150", "158", "186", "187", "135", "177"]) + f"{rng.randint(0, 99999999):08d}"


def ensure_staff(password: str) -> list[Staff]:
    people = []
    for username, display_name, role in DEMO_STAFF:
        staff = Staff.get_or_none(Staff.username == username)
        if staff is None:
            staff = Staff.create(username=username, display_name=display_name, role=role,
                                 password_hash=hash_password(password))
        people.append(staff)
    return people


def ensure_tags() -> dict[str, Tag]:
    tags = {}
    for name, name_en, color, alert in DEMO_TAGS:
        tags[name] = Tag.get_or_none(Tag.name == name) or Tag.create(name=name, name_en=name_en, color=color,
                                                                     clinical_alert=alert)
    return tags


def _household(rng: random.Random, today: date) -> list[tuple[str, str, date, str]]:
    """(name, sex, birth date, role in household) for one family."""
    surname = rng.choice(SURNAMES)
    kind = rng.random()
    members = []
    if kind < 0.15:  # elderly couple
        members += [(_name(rng, surname, "M"), "M", _birth(rng, today, 62, 85), "elder"),
                    (_name(rng, rng.choice(SURNAMES), "F"), "F", _birth(rng, today, 60, 82), "elder")]
    else:
        parent_age = rng.randint(27, 48)
        members += [(_name(rng, surname, "M"), "M", _birth(rng, today, parent_age, parent_age + 3), "parent"),
                    (_name(rng, rng.choice(SURNAMES), "F"), "F", _birth(rng, today, parent_age - 2, parent_age + 1), "parent")]
        for _ in range(rng.choice((0, 1, 1, 2))):
            sex = rng.choice("MF")
            members.append((_name(rng, surname, sex), sex, _birth(rng, today, 0, min(parent_age - 22, 17)), "child"))
        if rng.random() < 0.2:
            members.append((_name(rng, surname, "F"), "F", _birth(rng, today, parent_age + 24, parent_age + 32), "elder"))
    if rng.random() < 0.25:
        members = members[1:]  # not every household comes in together
    return members


def seed_demo(config, first_run_only: bool = False, families: int = 300, seed: int = 2026) -> str:
    if first_run_only and Staff.select().exists():
        return "demo: database already has staff; nothing to do"
    from portal.services.clock import local_now
    today = local_now(config["PORTAL_TZ"]).date()
    rng = random.Random(seed)
    with unit_of_work():
        staff = ensure_staff(config["DEMO_PASSWORD"])
        tags = ensure_tags()
        if Patient.select().exists():
            return "demo: staff and tags present; patients already exist, left as they are"
        frontdesk, doctors = staff[3], [staff[0], staff[1]]
        count = 0
        for _ in range(families):
            guarantor, family = None, None
            for name, sex, birth, role in _household(rng, today):
                data = registry.PatientData(
                    name=name, sex=sex, birth_date=birth, phone=_phone(rng),
                    address=f"{rng.choice(STREETS)}{rng.randint(1, 300)}号",
                    preferred_channel=rng.choice(["sms", "sms", "phone", "wechat"]),
                    preferred_time=rng.choice(["any", "morning", "lunch", "evening"]),
                    allergies=rng.choice([""] * 12 + ["青霉素", "利多卡因", "乳胶"]),
                    medical_alerts=rng.choice([""] * 10 + ["高血压", "服用阿司匹林", "糖尿病"]) if role == "elder" else "",
                    referral_channel=rng.choice(["walk_in", "online", "community", "walk_in"]),
                    consents={"treatment": True, "reminders": rng.random() < 0.9, "marketing": rng.random() < 0.4})
                patient = registry.register(data, frontdesk, today, family=family, allow_duplicate=True,
                                            start_family_named=None if family else f"{name[0]}家")
                if family is None:
                    patient = Patient.get_by_id(patient.id)
                    family, guarantor = patient.family, patient
                patient.attending_doctor = rng.choice(doctors)
                patient.created_at = utcnow() - timedelta(days=rng.randint(1, 2000))
                patient.save()
                chosen = set()
                if role == "child":
                    chosen.add(tags["儿童患者"].id)
                    if rng.random() < 0.3 and birth < today - timedelta(days=365 * 10):
                        chosen.add(tags["正畸患者"].id)
                if role == "elder":
                    chosen.add(tags["老年患者"].id)
                    if rng.random() < 0.35:
                        chosen.add(tags["种植牙客户"].id)
                if role != "child" and rng.random() < 0.2:
                    chosen.add(tags["牙周病患者"].id)
                if rng.random() < 0.1:
                    chosen.add(tags["牙齿敏感"].id)
                if rng.random() < 0.04:
                    chosen.add(tags["VIP"].id)
                if chosen:
                    registry.set_tags(patient, chosen)
                count += 1
        from portal.demo_schedule import seed_schedule
        appointments = seed_schedule(config, staff, today, rng)
        from portal.demo_clinical import seed_clinical; seed_clinical(staff, today)  # noqa: E702 (dental record)
        from portal.demo_followups import seed_followups; seed_followups(config, staff, today, rng)  # noqa: E702
        from portal.demo_members import seed_members; seed_members(config, staff, today, rng)  # noqa: E702 (issue 7)
    return (f"demo: {len(staff)} staff, {len(tags)} tags, {families} families, {count} patients, "
            f"{appointments} appointments")
