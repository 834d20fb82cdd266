from portal.models.audit import AuditEvent
from portal.models.base import BaseModel, new_code, utcnow
from portal.models.billing import Bill, BillLine, Payment
from portal.models.counter import Counter
from portal.models.chart import (ChartEntry, ClinicalImage, PlanItem, Procedure, ProtocolStep, StepTick, Visit,
                                 VisitAddendum, VisitProcedure)
from portal.models.followup import (CareArticle, Complaint, ComplaintAction, DoctorTask, Followup, FollowupCall,
                                    FollowupRule, Survey, SurveyAnswer, SurveyQuestion)
from portal.models.membership import (BenefitGrant, BenefitUse, DeskTask, DoctorChangeRequest, GiftItem, GiftMovement,
                                      MemberSetting, MemberSettingChange, Membership, PointEntry, Referral,
                                      TierChange)
from portal.models.people import Consent, Family, Patient, PatientTag, Tag
from portal.models.portal_link import PatientLink, PatientLinkAttempt, PatientLinkSession, PrintJob
from portal.models.schedule import (Appointment, AppointmentEvent, CalendarFeed, Chair, OutboxMessage,
                                    ScheduleVersion, ShiftException, ShiftPattern)
from portal.models.settings import ClinicSetting
from portal.models.prescription import Drug, Prescription, PrescriptionLine  # noqa: E402  (issue 14)
from portal.models.staff import LoginAttempt, Staff, StaffSession
from portal.models.submission import FormSubmission
from portal.models.visit_record import NoteTemplate  # noqa: E402  (issue 14: record templates)

ALL_MODELS = [Staff, StaffSession, LoginAttempt, AuditEvent, Family, Patient, Tag, PatientTag, Consent,
              Chair, ShiftPattern, ShiftException, Appointment, AppointmentEvent, OutboxMessage, CalendarFeed,
              ScheduleVersion,
              Procedure, ProtocolStep, Visit, VisitAddendum, ChartEntry, VisitProcedure, StepTick, PlanItem,
              ClinicalImage,
              FollowupRule, CareArticle, Followup, FollowupCall, DoctorTask, Complaint, ComplaintAction,
              SurveyQuestion, Survey, SurveyAnswer,
              PatientLink, PatientLinkSession, PatientLinkAttempt, PrintJob,
              Bill, BillLine, Payment, MemberSetting, Membership, TierChange, PointEntry, BenefitGrant, BenefitUse,
              Referral, GiftItem, GiftMovement, DeskTask, DoctorChangeRequest, ClinicSetting,
              MemberSettingChange, Counter]
ALL_MODELS += [Drug, Prescription, PrescriptionLine]

__all__ = ["ALL_MODELS", "Appointment", "AppointmentEvent", "AuditEvent", "CalendarFeed", "Chair",
           "OutboxMessage", "ScheduleVersion", "ShiftException", "ShiftPattern", "BaseModel", "Consent", "Family", "LoginAttempt", "Patient",
           "PatientTag", "Staff", "StaffSession", "Tag", "new_code", "utcnow",
           "ChartEntry", "ClinicalImage", "PlanItem", "Procedure", "ProtocolStep", "StepTick", "Visit",
           "VisitAddendum", "VisitProcedure",
           "CareArticle", "Complaint", "ComplaintAction", "DoctorTask", "Followup", "FollowupCall", "FollowupRule",
           "Survey", "SurveyAnswer", "SurveyQuestion",
           "PatientLink", "PatientLinkAttempt", "PatientLinkSession", "PrintJob",
           "Bill", "BillLine", "Payment", "BenefitGrant", "BenefitUse", "DeskTask", "DoctorChangeRequest", "GiftItem",
           "GiftMovement", "MemberSetting", "Membership", "PointEntry", "Referral", "TierChange", "ClinicSetting", "MemberSettingChange", "Counter",
           "FormSubmission"]
from portal.models.perio import PerioExam  # noqa: E402  (issue 14: perio charts 牙周检查表)
ALL_MODELS.append(PerioExam)

ALL_MODELS.append(NoteTemplate)  # issue 14: structured record templates
__all__.append("NoteTemplate")
from portal.models.consent import ConsentForm, ConsentTemplate  # noqa: E402  (issue 14: consent forms 知情同意书)
ALL_MODELS += [ConsentTemplate, ConsentForm]
from portal.models.lab_cases import Lab, LabCase  # noqa: E402  (issue 14: lab cases 技工单)
ALL_MODELS += [Lab, LabCase]
