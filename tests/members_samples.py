"""Records of the members area for the route walk: (URL prefix, code) pairs, most specific first."""
from portal.models import DeskTask, DoctorChangeRequest, GiftItem, Payment, new_code
from portal.services import billing
from tests.clock import clinic_today


def members_samples(app, staff, patient):
    bill = billing.open_bill(patient, staff["frontdesk"], app.config, clinic_today())
    billing.add_adjustment(bill, 500, "sample", staff["manager"], app.config)
    payment = Payment.create(code=new_code(), bill=bill, patient=patient, method="cash", amount_fen=100,
                             taken_by=staff["frontdesk"])
    # Above the approval limit, from the desk: a line and a refund waiting for the manager's decision.
    billing.add_adjustment(bill, 30000, "sample", staff["frontdesk"], app.config)
    large = Payment.create(code=new_code(), bill=bill, patient=patient, method="card", amount_fen=50000,
                           taken_by=staff["frontdesk"])
    billing.refund(large, 30000, "sample", staff["frontdesk"], app.config)
    gift = GiftItem.create(code=new_code(), name="牙刷", stock=3)
    task = DeskTask.create(code=new_code(), patient=patient, kind="birthday", unique_key="sample")
    change = DoctorChangeRequest.create(code=new_code(), patient=patient, to_doctor=staff["doctor"], reason="sample",
                                        requested_by=staff["frontdesk"])
    line = bill.lines.first()
    return [("/members/bills", bill.code), ("/members/payments", payment.code), ("/members/lines", line.code),
            ("/members/gifts", gift.code), ("/members/tasks", task.code), ("/members/doctor-requests", change.code)]
