"""`portal demo`, membership part (issue 7): gifts in stock (one running low), members of every tier
reached by one payment or a running total, split payments, today's takings, referrals of VIP
members, points (some expiring soon), a pending adjustment and a change-of-doctor request."""
from datetime import timedelta

from portal.models import (DeskTask, GiftItem, Membership, Patient, Procedure, Visit, VisitProcedure, new_code, utcnow)
from portal.services import billing, gifts, members
from portal.services import chart_visits as visits
from portal.services import points as ledger
from portal.services.identity import age_on

GIFTS = [("电动牙刷", "Electric toothbrush", 24, 5), ("漱口水礼盒", "Mouthwash gift box", 3, 5),
         ("生日蛋糕券", "Birthday cake voucher", 12, 4), ("儿童牙刷套装", "Children's toothbrush set", 18, 5)]
# (tier it should reach, amounts in yuan paid over time, methods)
PLANS = ([("member", [1200], "cash")] * 4 + [("member", [800, 700, 600], "wechat")] * 2
         + [("senior", [5200], "card")] * 3 + [("senior", [3000, 2800, 2500], "alipay")] * 2
         + [("vip", [12000], "card")] * 3 + [("vip", [6000, 5000, 4500], "wechat")]
         + [("diamond", [21000], "card"), ("diamond", [15000, 11000], "card")])


def _adults(today, n):
    out = []
    for p in Patient.select().where(Patient.restricted == False).order_by(Patient.id):  # noqa: E712
        if 25 <= age_on(p.birth_date, today) <= 70:
            out.append(p)
        if len(out) >= n:
            break
    return out


def _visit_bill(patient, doctor, desk, config, day, procs):
    visit = visits.open_visit(patient, doctor, day)
    for proc in procs:
        VisitProcedure.create(code=new_code(), visit=visit, procedure=proc, started_by=doctor, status="completed",
                              completed_at=utcnow())
    # A past visit the doctor wrote up and signed, as a clinic's history is: a demo full of
    # unsigned drafts would bury the doctor's home page under warnings.
    Visit.update(status="signed", signed_at=utcnow(), signed_by=doctor, chief_complaint="复诊治疗",
                 diagnosis="见治疗记录").where(Visit.id == visit.id).execute()
    return billing.open_bill(patient, desk, config, day, visit=visit)


def _settle(bill, amount_yuan, method, desk, manager, config, when):
    due = billing.totals(bill).due
    want = amount_yuan * 100
    if want > due:
        billing.add_adjustment(bill, want - due, "种植/修复材料费", manager, config)
    due = billing.totals(bill).due
    parts = [(method, due, "")] if method != "card" or due < 1000000 else [("card", due // 2, "POS"), ("wechat", due - due // 2, "WX")]
    billing.take_payment(bill, parts, desk, config, now=when)


def _join(patient, desk, config, when, serial: int) -> None:
    """The patient agreed to join (seed 002: 经病人同意后…登记): consent, ID number and address."""
    from portal.services.identity import _ID_CHECK, _ID_WEIGHTS
    id_number = patient.id_number
    if not id_number:
        body = f"110105{patient.birth_date:%Y%m%d}{serial % 1000:03d}"
        id_number = body + _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]
    members.join(patient, desk, config, consent=True, id_number=id_number,
                 address=patient.address or "北京市朝阳区建国路 88 号", now=when)


def seed_members(config, staff, today, rng) -> str:
    if Membership.select().exists():
        return "members: already seeded"
    doctor, desk, manager = staff[0], staff[3], staff[5]
    for name, name_en, stock, low in GIFTS:
        item = gifts.create_item(name, low, 0, manager)
        GiftItem.update(name_en=name_en).where(GiftItem.id == item.id).execute()  # read in both languages
        gifts.stock_in(item, stock, "采购入库", manager)
    procs = list(Procedure.select().where(Procedure.active == True, Procedure.price_fen > 0).order_by(Procedure.id))  # noqa: E712
    people = _adults(today, len(PLANS) + 6)
    for n, ((tier, amounts, method), p) in enumerate(zip(PLANS, people)):
        _join(p, desk, config, utcnow() - timedelta(days=400), n)
        for i, amount in enumerate(amounts):
            days_ago = 20 + 60 * (len(amounts) - i) + rng.randint(0, 30)
            day = today - timedelta(days=days_ago)
            bill = _visit_bill(p, doctor, desk, config, day, rng.sample(procs, k=min(2, len(procs))) if procs else [])
            _settle(bill, amount, method, desk, manager, config, utcnow() - timedelta(days=days_ago))
    referrers = [m.patient for m in Membership.select().where(Membership.tier.in_(("vip", "diamond")))][:2]
    for newcomer, referrer in zip(people[len(PLANS):len(PLANS) + 4], referrers * 2):
        Patient.update(referred_by=referrer, referral_channel="patient").where(Patient.id == newcomer.id).execute()
        bill = _visit_bill(Patient.get_by_id(newcomer.id), doctor, desk, config, today, procs[:1])
        _settle(bill, 300, "wechat", desk, manager, config, utcnow() - timedelta(hours=2))
    # Today's desk: one open bill with a split payment pending, and an adjustment waiting for the manager.
    if len(people) > len(PLANS) + 4:
        p = people[len(PLANS) + 4]
        bill = _visit_bill(p, doctor, desk, config, today, procs[:2])
        billing.add_adjustment(bill, -30000, "老客户关怀减免", desk, config)
        other = staff[1] if p.attending_doctor_id != staff[1].id else staff[0]
        members.request_doctor_change(p, other, "患者书面申请：希望更换主治医师继续治疗", desk)
    # Points earned last year (they run out soon if the manager switches to plan B).
    for p in people[:3]:
        ledger.earn(p, 300, "birthday", manager, today - timedelta(days=350), note="生日积分")
    tasks = list(DeskTask.select().where(DeskTask.status == "open").order_by(DeskTask.id))
    toothbrush = GiftItem.get(GiftItem.name == "电动牙刷")
    for t in tasks[: max(0, len(tasks) - 3)]:
        gifts.issue(toothbrush, t.patient, "", desk, task=t)
    return f"members: {Membership.select().where(Membership.tier != '').count()} members"
