"""A bill's receipt (issue 13): the page (browser print with print.css) and the PDF, in Chinese
and English, with the clinic, the receipt number, lines by tooth and quantity, discounts, benefits,
payments by method and the balance; who may print it, and every print audited."""
import re
import shutil
import subprocess

import pytest

from portal.models import AuditEvent, Bill, BillLine, Payment, Procedure, VisitProcedure, new_code
from portal.reports import receipt as sheet
from portal.services import billing, member_settings
from portal.services import catalogue as cat
from portal.services import chart_visits as visits
from tests.chart_samples import scaling_procedure
from tests.clock import clinic_today
from tests.members_helpers import pay
from tests.statements import statements_of

needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")


def sealant() -> Procedure:
    return Procedure.get_or_none(Procedure.code == "PAE-FS") or cat.save_procedure(cat.ProcedureData(
        code="PAE-FS", name_zh="窝沟封闭", name_en="Pit and fissure sealant", department="paediatric",
        duration_minutes=20, price_fen=15000, steps=[]), None)


def _bill(app, staff, patient, teeth=(16, 26), paid=True):
    """A senior member's visit: sealants on `teeth` and a scaling, 10% off, the scaling covered by
    the yearly benefit, an adjustment, paid by card and WeChat."""
    member_settings.save(app.config, {"discount_senior_pct": "10"}, staff["manager"])
    pay(app, staff, patient, 500000)  # senior: one scaling a year; an earlier bill, so no registration fee
    visit = visits.open_visit(patient, staff["doctor"], clinic_today())
    for tooth in teeth:
        VisitProcedure.create(code=new_code(), visit=visit, procedure=sealant(), tooth=tooth,
                              started_by=staff["doctor"], status="completed")
    VisitProcedure.create(code=new_code(), visit=visit, procedure=scaling_procedure(steps=[]),
                          started_by=staff["doctor"], status="completed")
    bill = billing.open_bill(patient, staff["frontdesk"], app.config, clinic_today(), visit=visit)
    scaling_line = bill.lines.where(BillLine.kind == "procedure", BillLine.amount_fen == 28800).get()
    billing.cover_with_benefit(bill, scaling_line, "scaling", staff["frontdesk"], app.config, clinic_today())
    billing.add_adjustment(bill, -1000, "loyal patient", staff["frontdesk"], app.config)
    due = billing.totals(bill).due
    if paid:
        billing.take_payment(bill, [("card", due - 10000, "C-881"), ("wechat", 10000, "W-42")],
                             staff["frontdesk"], app.config)
    return bill


def _text(data, tmp_path):
    path = tmp_path / "receipt.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_receipt_content_groups_lines_by_treatment_with_teeth_and_quantity(app, staff, make_patient):
    p = make_patient(name="林晓")
    bill = _bill(app, staff, p)
    with app.test_request_context():
        r = sheet.build(Bill.get_by_id(bill.id))
    sealants = [row for row in r.items if row.unit_fen == 15000]
    assert len(sealants) == 1 and sealants[0].quantity == 2 and sealants[0].teeth == [16, 26]
    assert sealants[0].amount_fen == 30000 and sealants[0].label == "Pit and fissure sealant"
    assert r.charges_fen == 30000 + 28800
    discounts = {row.label: row for row in r.discounts}
    assert discounts["Discount on Pit and fissure sealant"].amount_fen == -3000
    assert discounts["Discount on Pit and fissure sealant"].quantity == 2
    assert discounts["Adjustment: loyal patient"].amount_fen == -1000
    assert [row.amount_fen for row in r.benefits] == [-(28800 - 2880)]
    assert r.total_fen == 58800 - 3000 - 2880 - 25920 - 1000 == 26000
    assert (r.paid_fen, r.balance_fen, r.settled) == (26000, 0, True)
    assert [(x.method, x.amount_fen, x.reference) for x in r.payments] == [("card", 16000, "C-881"), ("wechat", 10000, "W-42")]
    assert [amount for _label, amount in r.by_method] == [16000, 10000]


def test_refund_and_pending_adjustment_on_the_receipt(app, staff, make_patient):
    p = make_patient(name="退款者")
    bill = _bill(app, staff, p)
    card = Payment.get(Payment.bill == bill, Payment.method == "card")
    billing.refund(card, 2000, "overcharged", staff["frontdesk"], app.config)
    with app.test_request_context():
        r = sheet.build(Bill.get_by_id(bill.id))
    assert [x.amount_fen for x in r.payments if x.refund] == [-2000]
    assert dict(r.by_method)["Bank card"] == 14000
    assert r.paid_fen == 24000 and r.balance_fen == 2000


@needs_poppler
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_receipt_pdf_in_each_language(app, staff, as_role, make_patient, tmp_path, lang):
    app.config["CLINIC_ADDRESS"] = "北京市东城区东华门大街 1 号"
    app.config["CLINIC_PHONE"] = "010-6512 3456"
    p = make_patient(name="林晓")
    bill = _bill(app, staff, p)
    resp = as_role("frontdesk").get(f"/members/bills/{bill.code}/receipt.pdf?lang={lang}")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and resp.data.startswith(b"%PDF-")
    assert resp.headers["Cache-Control"] == "no-store"
    text = _text(resp.data, tmp_path)
    for expected in (bill.receipt_no, "安心口腔诊所", "010-6512 3456", "东华门大街", p.name, p.chart_no,
                     "16, 26", "¥300.00", "-¥30.00", "-¥259.20", "-¥10.00", "¥260.00", "¥160.00", "¥100.00", "¥0.00",
                     "C-881", "W-42"):
        assert expected in text, (expected, text)
    if lang == "zh_CN":
        for word in ("收据", "窝沟封闭", "银行卡", "微信支付", "应付余额", "牙位", "数量"):
            assert word in text, (word, text)
        assert "Pit and fissure" not in text and "Receipt" not in text
    else:
        for word in ("Receipt", "Pit and fissure sealant", "Bank card", "WeChat Pay", "Balance due", "Tooth",
                     "Quantity", "Discount on Ultrasonic scaling", "Paid in full"):
            assert word in text, (word, text)
        assert "窝沟封闭" not in text and "收据" not in text
    printed = AuditEvent.get(AuditEvent.action == "print", AuditEvent.object_type == "receipt")
    assert printed.object_ref == bill.receipt_no and printed.patient_id == p.id
    assert f'"lang": "{lang}"' in printed.detail and '"format": "pdf"' in printed.detail


@needs_poppler
def test_unsettled_receipt_shows_the_balance(app, staff, as_role, make_patient, tmp_path):
    p = make_patient(name="欠费者")
    bill = _bill(app, staff, p, paid=False)
    billing.take_payment(bill, [("cash", 6000, "")], staff["frontdesk"], app.config)
    text = _text(as_role("manager").get(f"/members/bills/{bill.code}/receipt.pdf?lang=en").data, tmp_path)
    assert "¥200.00" in text and "not settled" in text and "Cash" in text


@pytest.mark.parametrize("role,status", [("frontdesk", 200), ("consultant", 200), ("manager", 200),
                                         ("doctor", 403), ("nurse", 403)])
def test_who_may_print_a_receipt(app, staff, as_role, make_patient, role, status):
    bill = _bill(app, staff, make_patient(name="谁能看"), teeth=(16,))
    client = as_role(role)
    assert client.get(f"/members/bills/{bill.code}/receipt").status_code == status
    assert client.get(f"/members/bills/{bill.code}/receipt.pdf").status_code == status
    prints = AuditEvent.select().where(AuditEvent.action == "print", AuditEvent.object_type == "receipt").count()
    assert prints == (2 if status == 200 else 0)


def test_receipt_of_unknown_bill_is_404_and_anonymous_signs_in(app, staff, as_role, client):
    assert as_role("frontdesk").get("/members/bills/NOSUCHBILL/receipt.pdf").status_code == 404
    assert client.get("/members/bills/NOSUCHBILL/receipt.pdf").status_code == 302


def test_receipt_page_prints_with_the_print_sheet_and_no_inline_script(app, staff, as_role, make_patient):
    bill = _bill(app, staff, make_patient(name="网页收据"))
    page = as_role("frontdesk").get(f"/members/bills/{bill.code}/receipt").get_data(as_text=True)
    assert 'href="/static/css/print.css" media="print"' in page
    assert 'src="/static/js/print.js"' in page and "data-print" in page
    assert "onclick" not in page and "<script>" not in page and " style=" not in page
    assert bill.receipt_no in page and "¥260.00" in page and "16, 26" in page
    assert f"/members/bills/{bill.code}/receipt.pdf" in page
    printed = AuditEvent.get(AuditEvent.action == "print", AuditEvent.object_type == "receipt")
    assert '"format": "page"' in printed.detail


def test_receipt_statements_do_not_grow_with_the_bill(app, staff, as_role, make_patient):
    client = as_role("frontdesk")
    small = _bill(app, staff, make_patient(name="小账单"), teeth=(16,))
    big = _bill(app, staff, make_patient(name="大账单"), teeth=(16, 26, 36, 46, 55, 65))
    assert statements_of(client, f"/members/bills/{big.code}/receipt") == \
        statements_of(client, f"/members/bills/{small.code}/receipt")


@needs_poppler
def test_receipt_pdf_is_one_a4_page_that_renders_to_an_image(app, staff, as_role, make_patient, tmp_path):
    """pdftoppm draws it (the PNG is what a person looks at: tests keep it under tmp_path)."""
    bill = _bill(app, staff, make_patient(name="看一看"))
    path = tmp_path / "receipt.pdf"
    path.write_bytes(as_role("frontdesk").get(f"/members/bills/{bill.code}/receipt.pdf?lang=zh_CN").data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M) and "595.276 x 841.89" in info  # one A4 page
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert any("CJK" in line and " yes yes " in line for line in fonts.splitlines()), fonts
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(path), str(tmp_path / "receipt")], check=True)
    png = (tmp_path / "receipt.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
