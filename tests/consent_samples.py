"""Test data for consent forms (issue 14): the seeded templates and a form of the walk's patient."""
from portal.services import consent as consents


def consent_samples(app, staff, patient):
    """(URL prefix, code) pairs for the route walk."""
    consents.seed()
    form = consents.create(patient, "extraction", staff["doctor"], "zh_CN", tooth="38")
    return [("/consent-forms", form.code), ("/consent-templates", "extraction"), ("/p/consent-forms", form.code)]
