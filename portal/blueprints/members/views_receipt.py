"""A bill's receipt: the page (prints from the browser with print.css) and the PDF, in the
language asked for (`?lang=zh_CN|en`, else the person's own). Each is audited as a print."""
from flask import make_response, request
from flask_babel import force_locale
from flask_login import current_user

from portal import audit
from portal.access import allow
from portal.blueprints.members import bp
from portal.blueprints.members.common import load_owned
from portal.config import LANGUAGES
from portal.models import Bill
from portal.reports import printouts
from portal.reports import receipt as sheet
from portal.web import local_today, render


def _lang() -> str:
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES else printouts.current_lang()


def _printed(bill: Bill, fmt: str, lang: str) -> None:
    audit.record("print", patient=bill.patient, object_type="receipt", object_ref=bill.receipt_no,
                 detail={"format": fmt, "lang": lang})


@bp.route("/members/bills/<code>/receipt")
@allow("billing.view")
def receipt(code):
    bill = load_owned(Bill, "billing.view", code, "receipt")
    _printed(bill, "page", printouts.current_lang())
    return render("members/receipt.html", r=sheet.build(bill))


@bp.route("/members/bills/<code>/receipt.pdf")
@allow("billing.view")
def receipt_pdf(code):
    bill = load_owned(Bill, "billing.view", code, "receipt")
    lang = _lang()
    with force_locale(lang):
        data = sheet.pdf(bill, local_today(), current_user._get_current_object())
    _printed(bill, "pdf", lang)
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    disposition = "attachment" if request.args.get("download") == "1" else "inline"
    resp.headers["Content-Disposition"] = f'{disposition}; filename="receipt-{bill.receipt_no}-{lang}.pdf"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
