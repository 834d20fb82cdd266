"""Billing (收费): bills from the procedures done on a visit, discounts by tier and department,
manual adjustments (a manager approves those above the limit), split payments, refunds that take
back the points they earned, receipts and the desk's daily takings. Money is integer fen."""
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from peewee import Case, fn

from portal import audit
from portal.db import is_postgres, unit_of_work
from portal.models import (Bill, BillLine, BenefitUse, Membership, Patient, Payment, Procedure, Visit,
                           VisitProcedure, new_code, utcnow)
from portal.models.billing import METHODS, MONEY_METHODS
from portal.services import Conflict, ServiceError
from portal.services import member_settings as settings
from portal.services import points as ledger
from portal.services import tiers
from portal.services.clock import day_bounds_utc, to_local
from portal.services.moved_on import locked, who_when
from portal.labels import discount_key

METHOD_LABELS = {"cash": _l("Cash"), "card": _l("Bank card"), "wechat": _l("WeChat Pay"), "alipay": _l("Alipay"),
                 "points": _l("Points")}
LINE_KIND_LABELS = {"procedure": _l("Treatment"), "registration": _l("Registration fee"), "discount": _l("Discount"),
                    "adjustment": _l("Adjustment"), "benefit": _l("Member benefit")}
# Member discounts are settings (Members ▸ Settings: discount_<tier>_pct, and _special_pct for
# implants and orthodontics, which carry lab and material costs). Seed 002 plan A gives none, so
# they are 0 until the clinic sets them.
SPECIAL_DEPARTMENTS = ("implant", "orthodontic")


@dataclass
class Totals:
    charges: int          # approved lines, discounts and benefits included
    paid: int             # money and points, net of refunds
    money: int            # money only, net of refunds
    pending: int          # adjustments waiting for a manager
    due: int


def _is_birthday_window(patient: Patient, on: date, mode: str) -> bool:
    b = patient.birth_date
    return b.month == on.month and (mode == "month" or b.day == on.day or (b.month == 2 and b.day == 29 and on.day == 28))


def discount_pct(patient: Patient, tier: str, department: str, on: date, config) -> tuple[int, str]:
    """The better of the tier's discount for the department and the birthday discount (never both)."""
    pct, why = 0, "tier"
    if tier:
        kind = "special_pct" if department in SPECIAL_DEPARTMENTS else "pct"
        pct = settings.get(config, f"discount_{tier}_{kind}")
    if tier and _is_birthday_window(patient, on, settings.get(config, "birthday_mode")):
        bday = settings.get(config, "birthday_discount_pct")
        if bday > pct:
            pct, why = bday, "birthday"
    return pct, why


def _add_procedure(bill: Bill, proc: Procedure, run: VisitProcedure | None, tier: str, actor, on: date, config):
    # Lines the system writes keep keys; portal.labels.bill_line_text shows them in the reader's words.
    name = proc.code + (f" #{run.tooth}" if run and run.tooth else "")
    BillLine.create(code=new_code(), bill=bill, kind="procedure", description=name, department=proc.department,
                    procedure=proc, visit_procedure=run, amount_fen=proc.price_fen, created_by=actor)
    pct, why = discount_pct(bill.patient, tier, proc.department, on, config)
    cut = proc.price_fen * pct // 100
    if cut:
        BillLine.create(code=new_code(), bill=bill, kind="discount", description=discount_key(why, tier, pct),
                        department=proc.department, procedure=proc, visit_procedure=run, amount_fen=-cut,
                        created_by=actor)


def _registration_line(bill: Bill, patient: Patient, actor, config) -> None:
    fee = settings.get(config, "registration_fee_fen")
    if fee <= 0 or Bill.select().where(Bill.patient == patient, Bill.id != bill.id).exists():
        return
    waived = BenefitUse.select().where(BenefitUse.beneficiary == patient, BenefitUse.registration_waived == True).exists()  # noqa: E712
    BillLine.create(code=new_code(), bill=bill, kind="registration", description="registration",
                    amount_fen=0 if waived else fee, created_by=actor,
                    reason=str(_l("Waived: a member's benefit was transferred to this patient")) if waived else "")


def waive_registration(patient: Patient, actor) -> int:
    """A member's benefit was transferred to this new patient: the registration fee on their open
    bills goes to zero (seed 002: 该受益人若为新诊则免挂号费), whichever the desk recorded first."""
    reason = str(_l("Waived: a member's benefit was transferred to this patient"))
    n = 0
    for line in (BillLine.select(BillLine).join(Bill).where(Bill.patient == patient, Bill.status == "open",
                                                            BillLine.kind == "registration", BillLine.amount_fen > 0)):
        n += BillLine.update(amount_fen=0, reason=reason).where(BillLine.id == line.id).execute()
        audit.record("update", patient=patient, object_type="bill_line", object_ref=line.code,
                     detail={"registration_waived": True}, actor=actor)
    return n


def is_new_patient(patient: Patient) -> bool:
    """New (新诊) for the registration fee: nothing paid yet."""
    return not Payment.select().where(Payment.patient == patient, Payment.kind == "payment",
                                      Payment.state == "done").exists()


def open_bill(patient: Patient, actor, config, on: date, visit: Visit | None = None, done_only: bool = False) -> Bill:
    """A bill for the patient; from a visit, one line per procedure done on it, priced from the catalogue
    (`done_only`: only the completed ones; one still under way is added when it completes)."""
    if visit is not None:
        if visit.patient_id != patient.id:
            raise ServiceError(_l("That visit is another patient's."), field="visit")
        existing = Bill.get_or_none(Bill.visit == visit)
        if existing:
            return existing
    with unit_of_work():
        if visit is not None:  # the desk, the signature and the patient leaving the chair take turns
            locked(Visit, visit.id)
            existing = Bill.get_or_none(Bill.visit == visit)
            if existing:
                return existing
        _audit_turn()
        m = Membership.get_or_none(Membership.patient == patient)
        tier = m.tier if m else ""
        from portal.services.counters import receipt_no  # the year's locked counter row (issue 12)
        bill = Bill.create(code=new_code(), receipt_no=receipt_no(on), patient=patient, visit=visit,
                           created_by=actor)
        _registration_line(bill, patient, actor, config)
        if visit is not None:
            runs = (VisitProcedure.select(VisitProcedure, Procedure).join(Procedure)
                    .where(VisitProcedure.visit == visit).order_by(VisitProcedure.id))
            if done_only:
                runs = runs.where(VisitProcedure.status == "completed")
            for run in runs:
                _add_procedure(bill, run.procedure, run, tier, actor, on, config)
        audit.record("create", patient=patient, object_type="bill", object_ref=bill.code,
                     detail={"visit": visit.code if visit else None}, actor=actor)
    return bill


def _audit_turn() -> None:
    """One lock order for everything that makes a bill: the visit row, then the audit trail's
    lock (held to commit by whoever writes an audit event), then the receipt counter. Signing a
    visit or completing its appointment has written to the audit trail before it bills, so a
    desk opening a bill takes the audit lock before the counter too (PostgreSQL; SQLite's unit
    of work holds the write lock already)."""
    if is_postgres():
        from portal.db import db
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (audit.ADVISORY_LOCK_KEY,))


def add_charge(bill: Bill, proc: Procedure, actor, config, on: date) -> None:
    with unit_of_work():
        bill = _open_bill_now(bill, config)
        m = Membership.get_or_none(Membership.patient == bill.patient)
        _add_procedure(bill, proc, None, m.tier if m else "", actor, on, config)
        audit.record("update", patient=bill.patient, object_type="bill", object_ref=bill.code,
                     detail={"charge": proc.code}, actor=actor)


def _must_be_open(bill: Bill, config=None) -> None:
    if bill.status != "open":
        last = Payment.select().where(Payment.bill == bill.id, Payment.kind == "payment").order_by(Payment.id.desc()).first()
        if last is None:
            raise Conflict(_l("This bill is settled; refund a payment instead."))
        raise Conflict(_l("This bill was settled by %(who)s at %(time)s; refund a payment instead.",
                          **who_when(last.taken_by_id, bill.paid_at or last.taken_at, config)))


def _open_bill_now(bill: Bill, config=None) -> Bill:
    """The bill re-read (and on PostgreSQL locked) inside the unit of work: lines, payments and
    decisions on one bill take their turn, and each sees what the one before it left."""
    fresh = locked(Bill, bill.id)
    _must_be_open(fresh, config)
    return fresh


def totals(bill: Bill) -> Totals:
    lines = list(BillLine.select(BillLine.amount_fen, BillLine.state).where(BillLine.bill == bill))
    charges = sum(x.amount_fen for x in lines if x.state == "approved")
    pending = sum(x.amount_fen for x in lines if x.state == "pending")
    paid = money = 0
    for p in Payment.select(Payment.kind, Payment.method, Payment.amount_fen).where(
            Payment.bill == bill, Payment.state == "done"):
        sign = 1 if p.kind == "payment" else -1
        paid += sign * p.amount_fen
        if p.method in MONEY_METHODS:
            money += sign * p.amount_fen
    return Totals(charges, paid, money, pending, max(0, charges - paid))


def add_adjustment(bill: Bill, amount_fen: int, reason: str, actor, config) -> BillLine:
    """A manual change to the bill, with a reason; above the limit it waits for a manager."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_l("Say why the bill changes."), field="reason")
    if amount_fen == 0:
        raise ServiceError(_l("Enter an amount other than zero."), field="amount")
    needs_manager = abs(amount_fen) > settings.get(config, "approval_limit_fen") and actor.role != "manager"
    with unit_of_work():
        bill = _open_bill_now(bill, config)
        if amount_fen < 0 and totals(bill).charges + amount_fen < 0:
            raise ServiceError(_l("A bill cannot go below zero."), field="amount")
        line = BillLine.create(code=new_code(), bill=bill, kind="adjustment", description=reason[:120],
                               amount_fen=amount_fen, reason=reason[:200], created_by=actor,
                               state="pending" if needs_manager else "approved")
        audit.record("update", patient=bill.patient, object_type="bill_line", object_ref=line.code,
                     detail={"adjustment": amount_fen, "reason": reason, "state": line.state}, actor=actor)
    return line


def _decided_already(state: str, by_id, at, config) -> Conflict:
    if state == "approved" or state == "done":
        return Conflict(_l("Already approved by %(who)s at %(time)s.", **who_when(by_id, at, config)))
    if state == "rejected":
        return Conflict(_l("Already rejected by %(who)s at %(time)s.", **who_when(by_id, at, config)))
    return Conflict(_l("This was decided already."))


def decide_line(line: BillLine, approve: bool, manager, config=None) -> BillLine:
    if manager.role != "manager":
        raise ServiceError(_l("Only a manager approves this."))
    with unit_of_work():
        locked(Bill, line.bill_id)  # after a payment or another decision on the same bill, never beside it
        n = BillLine.update(state="approved" if approve else "rejected", decided_by=manager, decided_at=utcnow()).where(
            BillLine.id == line.id, BillLine.state == "pending").execute()
        if n != 1:
            now = BillLine.get_by_id(line.id)
            raise _decided_already(now.state, now.decided_by_id, now.decided_at, config)
        audit.record("update", patient=line.bill.patient, object_type="bill_line", object_ref=line.code,
                     detail={"approved": approve}, actor=manager)
    return BillLine.get_by_id(line.id)


def take_payment(bill: Bill, parts: list[tuple[str, int, str]], actor, config, now: datetime | None = None) -> list[Payment]:
    """One or more parts [(method, amount_fen, reference)] in one go (a split payment)."""
    now = now or utcnow()
    today = to_local(now, config["PORTAL_TZ"]).date()
    parts = [(m, int(a), (r or "")[:60]) for m, a, r in parts if a]
    if not parts:
        raise ServiceError(_l("Enter an amount."), field="amount")
    for method, amount, _ref in parts:
        if method not in METHODS:
            raise ServiceError(_l("Choose how the patient pays."), field="method")
        if amount <= 0:
            raise ServiceError(_l("Amounts are more than zero."), field="amount")
    with unit_of_work():
        bill = _open_bill_now(bill, config)
        t = totals(bill)
        if t.pending:
            raise ServiceError(_l("An adjustment waits for a manager's approval."))
        if sum(a for _m, a, _r in parts) > t.due:
            raise ServiceError(_l("That is more than the bill's balance."), field="amount")
        m = tiers.membership_of(bill.patient)
        values = settings.all_settings(config)
        rate, point_value = values["points_per_yuan"], values["point_value_fen"]
        joined = m.joined_at is not None  # without consent the patient pays and earns nothing as a member
        if any(method == "points" for method, _a, _r in parts):
            if values["plan"] != "B":
                raise ServiceError(_l("Under plan A points are a lifetime tally; they do not pay."), field="method")
            if not ledger.can_redeem(bill.patient, config):
                raise ServiceError(_l("Points can be redeemed after one payment earning %(a)s points or %(b)s in total.",
                                      a=values["redeem_single_points"], b=values["redeem_cumulative_points"]),
                                   field="method")
        made, money = [], 0
        for method, amount, ref in parts:
            earned = amount * rate // 100 if method in MONEY_METHODS and joined else 0
            pay = Payment.create(code=new_code(), bill=bill, patient=bill.patient, method=method, amount_fen=amount,
                                 reference=ref, points_earned=earned, taken_by=actor, taken_at=now)
            if method == "points":
                if amount % point_value:
                    raise ServiceError(_l("Points pay in whole points."), field="amount")
                ledger.spend(bill.patient, amount // point_value, "redemption", actor, payment=pay,
                             note=str(_l("Paid receipt %(no)s", no=bill.receipt_no)))
            else:
                money += amount
                ledger.earn(bill.patient, earned, "payment", actor, today, payment=pay, at=now,
                            note=str(_l("Receipt %(no)s", no=bill.receipt_no)), config=config)
            made.append(pay)
            audit.record("create", patient=bill.patient, object_type="payment", object_ref=pay.code,
                         detail={"method": method, "amount_fen": amount}, actor=actor)
        if money:
            Membership.update(paid_total_fen=Membership.paid_total_fen + money).where(Membership.id == m.id).execute()
            m = Membership.get_by_id(m.id)
            tiers.apply_payment(m, totals(bill).money, made[-1], config, now)
        if totals(bill).due == 0:
            Bill.update(status="paid", paid_at=now).where(Bill.id == bill.id).execute()
            from portal.services import referrals
            referrals.reward_if_due(bill.patient, actor, config, today)
    return made


def refund(payment: Payment, amount_fen: int, reason: str, actor, config, now: datetime | None = None) -> Payment:
    """Give money (or points) back; above the limit a manager approves first. Points the payment
    earned go back in proportion, never below zero; points used to pay come back to the patient."""
    reason = (reason or "").strip()
    if payment.kind != "payment" or payment.state != "done":
        raise ServiceError(_l("Only a payment can be refunded."))
    if not reason:
        raise ServiceError(_l("Say why the money goes back."), field="reason")
    if amount_fen <= 0 or amount_fen > payment.amount_fen:
        raise ServiceError(_l("Refund at most what was paid and not yet refunded."), field="amount")
    needs_manager = amount_fen > settings.get(config, "approval_limit_fen") and actor.role != "manager"
    with unit_of_work():
        # Decided on the payment as it is now: refunds of one payment take their turn (its row is
        # locked on PostgreSQL; SQLite's unit of work holds the write lock), so two desks or a
        # double click never give back more than was paid.
        payment = locked(Payment, payment.id)
        earlier = list(Payment.select().where(Payment.refund_of == payment, Payment.state.in_(("done", "pending")))
                       .order_by(Payment.id))
        left = payment.amount_fen - sum(r.amount_fen for r in earlier)
        if amount_fen > left:
            last = earlier[-1]
            raise Conflict(_l("%(amount)s of this payment was refunded already, last by %(who)s at %(time)s; at most "
                              "%(left)s can go back.", amount=_yuan(payment.amount_fen - left), left=_yuan(max(0, left)),
                              **who_when(last.taken_by_id, last.taken_at, config)), field="amount")
        row = Payment.create(code=new_code(), bill=payment.bill, patient=payment.patient, kind="refund",
                             method=payment.method, amount_fen=amount_fen, refund_of=payment, reason=reason[:200],
                             taken_by=actor, taken_at=now or utcnow(), state="pending" if needs_manager else "done")
        audit.record("create", patient=payment.patient, object_type="refund", object_ref=row.code,
                     detail={"amount_fen": amount_fen, "reason": reason, "state": row.state}, actor=actor)
        if not needs_manager:
            _apply_refund(row, actor, config)
    return row


def _yuan(fen_: int) -> str:
    from portal.templating import money
    return money(fen_)


def _apply_refund(row: Payment, actor, config) -> None:
    original = row.refund_of
    today = to_local(utcnow(), config["PORTAL_TZ"]).date()
    if original.method == "points":
        ledger.earn(row.patient, row.amount_fen // settings.get(config, "point_value_fen"), "refund", actor, today,
                    note=str(_l("Points paid back")), key=f"refund:{row.id}", config=config)
        return
    back = original.points_earned * row.amount_fen // original.amount_fen
    ledger.spend(row.patient, back, "refund", actor, payment=original, key=f"refund:{row.id}", cap_at_balance=True,
                 note=str(_l("Refund on receipt %(no)s", no=row.bill.receipt_no)))
    # The running total falls; the tier does not (tiers never go down).
    Membership.update(paid_total_fen=Membership.paid_total_fen - row.amount_fen).where(
        Membership.patient == row.patient).execute()


def decide_refund(row: Payment, approve: bool, manager, config) -> Payment:
    if manager.role != "manager":
        raise ServiceError(_l("Only a manager approves this."))
    with unit_of_work():
        n = Payment.update(state="done" if approve else "rejected", decided_by=manager, decided_at=utcnow()).where(
            Payment.id == row.id, Payment.state == "pending").execute()
        if n != 1:
            now = Payment.get_by_id(row.id)
            raise _decided_already(now.state, now.decided_by_id, now.decided_at, config)
        row = Payment.get_by_id(row.id)
        if approve:
            _apply_refund(row, manager, config)
        audit.record("update", patient=row.patient, object_type="refund", object_ref=row.code,
                     detail={"approved": approve}, actor=manager)
    return row


def pending_approvals() -> tuple[list[BillLine], list[Payment]]:
    from portal.models import Staff
    lines = list(BillLine.select(BillLine, Bill, Patient, Staff).join(Bill).join(Patient).switch(BillLine)
                 .join(Staff, on=(BillLine.created_by == Staff.id)).where(BillLine.state == "pending").order_by(BillLine.id))
    refunds = list(Payment.select(Payment, Patient, Bill, Staff).join(Patient, on=(Payment.patient == Patient.id))
                   .switch(Payment).join(Bill).switch(Payment).join(Staff, on=(Payment.taken_by == Staff.id))
                   .where(Payment.state == "pending").order_by(Payment.id))
    return lines, refunds


def daily_takings(day: date, tz: str) -> dict:
    """Per method: payments, refunds, net. Points are shown apart: they are not money in the till."""
    start, end = day_bounds_utc(day, tz)
    rows = (Payment.select(Payment.method, Payment.kind, fn.SUM(Payment.amount_fen).alias("total"),
                           fn.COUNT(Payment.id).alias("n"))
            .where(Payment.taken_at >= start, Payment.taken_at < end, Payment.state == "done")
            .group_by(Payment.method, Payment.kind))
    out = {m: {"payments": 0, "refunds": 0, "count": 0, "net": 0} for m in METHODS}
    for r in rows:
        slot = out[r.method]
        slot["payments" if r.kind == "payment" else "refunds"] += r.total
        slot["count"] += r.n
    for slot in out.values():
        slot["net"] = slot["payments"] - slot["refunds"]
    money = sum(out[m]["net"] for m in MONEY_METHODS)
    return {"methods": out, "money_net": money}


def day_payments(day: date, tz: str) -> list[Payment]:
    start, end = day_bounds_utc(day, tz)
    return list(Payment.select(Payment, Patient, Bill).join(Patient, on=(Payment.patient == Patient.id))
                .switch(Payment).join(Bill).where(Payment.taken_at >= start, Payment.taken_at < end)
                .order_by(Payment.taken_at))


def bills_of(patient: Patient) -> list[Bill]:
    return list(Bill.select().where(Bill.patient == patient).order_by(Bill.created_at.desc()))


def unbilled_visits(patient: Patient) -> list[Visit]:
    billed = Bill.select(Bill.visit).where(Bill.patient == patient, Bill.visit.is_null(False))
    return list(Visit.select().where(Visit.patient == patient, Visit.id.not_in(billed)).order_by(Visit.visit_date.desc()).limit(20))


def cover_with_benefit(bill: Bill, line: BillLine, kind: str, actor, config, on: date, member: Patient | None = None):
    """Redeem a yearly benefit at the visit: the treatment line is covered in full (after its discount).
    With `member`, it is that member's benefit transferred to this patient. Nothing paid, no points."""
    from portal.services import benefits
    if line.bill_id != bill.id or line.kind != "procedure" or line.state != "approved":
        raise ServiceError(_l("Choose a treatment on this bill."), field="line")
    tag = f"covers {line.code}"
    same = ((BillLine.bill == bill) & (BillLine.procedure == line.procedure_id) & (BillLine.state == "approved")
            & (BillLine.visit_procedure.is_null() if line.visit_procedure_id is None
               else BillLine.visit_procedure == line.visit_procedure_id))
    rows = list(BillLine.select(BillLine.kind, BillLine.amount_fen).where(same & BillLine.kind.in_(("procedure", "discount"))))
    net = sum(r.amount_fen for r in rows) // max(1, sum(1 for r in rows if r.kind == "procedure"))
    owner = member or bill.patient
    with unit_of_work():
        bill = _open_bill_now(bill, config)
        covered = (BillLine.select().where(BillLine.bill == bill, BillLine.kind == "benefit", BillLine.reason.endswith(tag))
                   .first())
        if covered is not None:
            raise Conflict(_l("This treatment was covered already by %(who)s at %(time)s.",
                              **who_when(covered.created_by_id, covered.created_at, config)), field="line")
        # A use the desk already recorded on the member's page for this patient (and no bill yet) is
        # this one: the member's count drops once, whichever was recorded first.
        use = (BenefitUse.select().where(BenefitUse.member == owner, BenefitUse.beneficiary == bill.patient,
                                         BenefitUse.kind == kind, BenefitUse.bill.is_null(), BenefitUse.points == 0,
                                         BenefitUse.grant.is_null(False))
               .order_by(BenefitUse.id).first())
        if use is not None and not BenefitUse.update(bill=bill).where(BenefitUse.id == use.id,
                                                                      BenefitUse.bill.is_null()).execute():
            use = None  # another bill claimed it in the meantime
        if use is None:
            use = benefits.use(owner, kind, actor, on, beneficiary=bill.patient if member else None,
                               note=f"{bill.receipt_no} {line.description}"[:200], config=config, bill=bill)
        BillLine.create(code=new_code(), bill=bill, kind="benefit", description=kind,
                        department=line.department, procedure=line.procedure_id, amount_fen=-max(0, net),
                        reason=f"{owner.chart_no} {tag}", created_by=actor)
        audit.record("update", patient=bill.patient, object_type="bill", object_ref=bill.code,
                     detail={"benefit": kind, "use": use.code, "covered_fen": net}, actor=actor)
    return use


def _charged_sql():
    return (BillLine.select(fn.COALESCE(fn.SUM(BillLine.amount_fen), 0))
            .where(BillLine.bill == Bill.id, BillLine.state == "approved"))


def _paid_sql():
    signed = Case(None, [(Payment.kind == "payment", Payment.amount_fen)], Payment.amount_fen * -1)
    return (Payment.select(fn.COALESCE(fn.SUM(signed), 0))
            .where(Payment.bill == Bill.id, Payment.state == "done"))


def to_bill_queue(limit: int = 50) -> list[Bill]:
    """待收费: open bills with a balance still due, oldest first, the patient loaded in the same
    query (one statement). Each bill carries `due_fen`."""
    due = fn.COALESCE(_charged_sql(), 0) - fn.COALESCE(_paid_sql(), 0)  # (a query minus a query is EXCEPT)
    return list(Bill.select(Bill, Patient, due.alias("due_fen")).join(Patient, on=(Bill.patient == Patient.id))
                .where(Bill.status == "open", due > 0)
                .order_by(Bill.created_at, Bill.id).limit(limit))


# Visit → bill (issue 13) -------------------------------------------------------------------------


def bill_visit(visit: Visit, actor, config, on: date | None = None) -> Bill:
    """The visit's draft bill, made once from its completed procedures when the visit is signed or
    the patient leaves the chair, whichever comes first (the visit row is re-read and locked
    first, and bill.visit_id is unique: of two desks and a doctor at once one bill is made). When
    the bill exists already, procedures completed since are added as adjustment lines."""
    from portal.services.clock import local_now
    on = on or local_now(config["PORTAL_TZ"]).date()
    with unit_of_work():
        current = locked(Visit, visit.id)
        if current is None:
            raise ServiceError(_l("This visit no longer exists."))
        bill = Bill.get_or_none(Bill.visit == current.id)
        if bill is None:
            return open_bill(current.patient, actor, config, on, visit=current, done_only=True)
        late_procedures(bill, current, actor, config, on)
    return Bill.get_by_id(bill.id)


def after_visit_change(visit: Visit, actor, config, on: date | None = None) -> list[BillLine]:
    """A procedure was added to or completed on the visit: if the visit has its bill already, the
    procedure shows on it as an adjustment line; before that, nothing (the bill is made later)."""
    from portal.services.clock import local_now
    if not Bill.select().where(Bill.visit == visit.id).exists():
        return []
    on = on or local_now(config["PORTAL_TZ"]).date()
    with unit_of_work():
        current = locked(Visit, visit.id)
        bill = Bill.get_or_none(Bill.visit == current.id)
        return late_procedures(bill, current, actor, config, on) if bill else []


def late_procedures(bill: Bill, visit: Visit, actor, config, on: date) -> list[BillLine]:
    """Completed procedures of the visit not yet on its bill, each added as a new adjustment line
    saying what, who and why (existing lines are never changed). A settled bill opens again for
    the balance. Runs inside the caller's unit of work, the visit locked."""
    billed = BillLine.select(BillLine.visit_procedure).where(BillLine.bill == bill.id,
                                                             BillLine.visit_procedure.is_null(False))
    runs = list(VisitProcedure.select(VisitProcedure, Procedure).join(Procedure)
                .where(VisitProcedure.visit == visit.id, VisitProcedure.status == "completed",
                       VisitProcedure.id.not_in(billed)).order_by(VisitProcedure.id))
    if not runs:
        return []
    fresh = locked(Bill, bill.id)
    if fresh.status == "void":
        return []
    m = Membership.get_or_none(Membership.patient == fresh.patient_id)
    tier = m.tier if m else ""
    made = []
    for run in runs:
        proc = run.procedure
        pct, _why = discount_pct(fresh.patient, tier, proc.department, on, config)
        net = proc.price_fen - proc.price_fen * pct // 100
        name = proc.code + (f" #{run.tooth}" if run.tooth else "")  # shown by portal.labels.bill_line_text
        why = _l("Done on visit %(visit)s after its bill was made", visit=visit.code)
        if pct:
            why = _l("Done on visit %(visit)s after its bill was made; member discount %(p)s%%", visit=visit.code, p=pct)
        line = BillLine.create(code=new_code(), bill=fresh, kind="adjustment", description=name,
                               department=proc.department, procedure=proc, visit_procedure=run, amount_fen=net,
                               reason=str(why)[:200], created_by=actor, state="approved")
        audit.record("update", patient=fresh.patient_id, object_type="bill_line", object_ref=line.code,
                     detail={"late_procedure": run.code, "amount_fen": net}, actor=actor)
        made.append(line)
    if fresh.status == "paid" and totals(fresh).due > 0:
        Bill.update(status="open").where(Bill.id == fresh.id, Bill.status == "paid").execute()
    return made


def lock_visit_of(appt) -> None:
    """Completing an appointment bills its visit: the visit row is locked first, before the
    appointment's own change writes the audit trail (whose lock is held to commit). Signing and
    ticking take the visit, then the audit: one order for all, so none waits on the other in a
    circle (PostgreSQL; SQLite's unit of work holds the write lock already)."""
    if is_postgres():
        list(Visit.select(Visit.id).where(Visit.appointment == appt.id).for_update())


def on_appointment_completed(appt, actor, config) -> Bill | None:
    """The patient left the chair: the appointment's visit (if one was started) gets its bill."""
    visit = Visit.get_or_none(Visit.appointment == appt.id)
    return bill_visit(visit, actor, config) if visit is not None else None
