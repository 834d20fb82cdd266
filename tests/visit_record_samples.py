"""Samples for the route walk: a clinic record template (issue 14)."""
from portal.services import visit_record as record


def visit_record_samples(app, staff, patient):
    row = record.create_template(record.TemplateData(title="龋病充填", body={"diagnosis": "{tooth} 深龋"}),
                                 staff["manager"])
    return [("/note-templates", row.code)]
