"""Patient read-only links (/p/<token>): issue, revoke, reissue, exchange, knowledge check.

- A token is 32 random bytes (256 bits), URL-safe; only its SHA-256 is stored.
- Opening a link changes nothing (GET); the patient's POST exchanges the token for a
  short-lived session (a second random secret, stored hashed, in an HttpOnly cookie) and the
  browser moves to a URL without the token.
- Health data needs the knowledge check: the holder's (or the patient's) birth date, or the
  last four digits of the holder's phone. Failures are throttled per link and per address.
- A link for a patient shows that patient; a guardian link shows one child to the family
  contact; a family link shows every member of that family (except privacy-restricted ones).
No Flask in here: the blueprint passes the config and the client address.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from portal import audit
from portal.db import unit_of_work
from portal.models import Patient, Staff, new_code, utcnow
from portal.models.portal_link import PatientLink, PatientLinkAttempt, PatientLinkSession
from portal.services import Conflict, ServiceError
from portal.services.moved_on import locked, who_when
from portal.services.identity import age_on

DEFAULTS = {
    "PATIENT_LINK_DAYS": 30,              # a link expires after this many days
    "PATIENT_LINK_SESSION_MINUTES": 30,   # the exchanged cookie lives this long
    "PATIENT_LINK_MAX_FAILURES_PER_LINK": 5,
    "PATIENT_LINK_MAX_FAILURES_PER_ADDRESS": 20,
    "PATIENT_LINK_WINDOW_MINUTES": 15,
}
SCOPE_LABELS = {"patient": _l("The patient"), "guardian": _l("Guardian (for a child)"),
                "family": _l("Family contact (whole family)")}
COOKIE = "plink"


def setting(config, key):
    return config.get(key, DEFAULTS[key])


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 32 bytes = 256 bits


@dataclass
class Issued:
    link: PatientLink
    token: str   # shown once; never stored


def _holder_for(patient: Patient, scope: str) -> tuple[Patient, object]:
    family = patient.family
    if scope == "patient":
        return patient, None
    if family is None or family.guarantor_id is None:
        raise ServiceError(_l("This patient's family has no contact yet: set one on the family page first."),
                           field="scope")
    guardian = Patient.get_by_id(family.guarantor_id)
    if scope == "guardian":
        if guardian.id == patient.id:
            raise ServiceError(_l("The family contact is this patient: choose a link for the patient."), field="scope")
        return guardian, None
    return guardian, family


def issue(patient: Patient, scope: str, actor: Staff | None, config, purpose: str = "link",
          replaces: PatientLink | None = None) -> Issued:
    if scope not in SCOPE_LABELS:
        raise ServiceError(_l("Choose who the link is for."), field="scope")
    holder, family = _holder_for(patient, scope)
    token = new_token()
    with unit_of_work():
        link = PatientLink.create(code=new_code(), token_hash=digest(token), scope=scope, patient=patient,
                                  holder=holder, family=family, purpose=purpose, created_by=actor,
                                  expires_at=utcnow() + timedelta(days=setting(config, "PATIENT_LINK_DAYS")))
        if replaces is not None:
            PatientLink.update(replaced_by=link).where(PatientLink.id == replaces.id).execute()
            replaces.replaced_by = link
        audit.record("create", patient=patient, object_type="patient_link", object_ref=link.code, actor=actor,
                     actor_label=None if actor else "system",
                     detail={"scope": scope, "purpose": purpose, "holder": holder.chart_no,
                             "replaces": replaces.code if replaces else None})
    return Issued(link, token)


def revoke(link: PatientLink, actor: Staff, config=None) -> PatientLink:
    """Stop a link. Decided on the link re-read inside the unit of work: a link revoked meanwhile
    (another desk, a second click) is refused, naming who revoked it and when."""
    with unit_of_work():
        current = locked(PatientLink, link.id)
        if current is None:
            raise Conflict(_l("This link no longer exists."))
        if current.revoked_at is not None:
            raise Conflict(_l("This link was already revoked by %(who)s at %(time)s.",
                              **who_when(current.revoked_by_id, current.revoked_at, config)))
        now = utcnow()
        won = PatientLink.update(revoked_at=now, revoked_by=actor).where(
            PatientLink.id == link.id, PatientLink.revoked_at.is_null()).execute()
        if won != 1:
            raise Conflict(_l("Someone else changed this link just now. Reload it."))
        link.revoked_at, link.revoked_by = now, actor
        PatientLinkSession.delete().where(PatientLinkSession.link == link).execute()
        audit.record("update", patient=link.patient_id, object_type="patient_link", object_ref=link.code,
                     actor=actor, detail={"revoked": True})
    return link


def reissue(link: PatientLink, actor: Staff, config) -> Issued:
    """One click: the old link stops working, a new one with the same scope starts. Of two clicks
    one reissues; the other is refused (the old link is already revoked), so one new link is live."""
    with unit_of_work():
        revoke(link, actor, config)
        return issue(link.patient, link.scope, actor, config, purpose=link.purpose, replaces=link)


def links_of(patient: Patient) -> list[PatientLink]:
    """Links that show this patient's record: their own, a guardian's, a family's."""
    query = PatientLink.select().where(PatientLink.patient == patient)
    if patient.family_id:
        query = PatientLink.select().where((PatientLink.patient == patient) | (PatientLink.family == patient.family_id))
    return list(query.order_by(PatientLink.created_at.desc()).limit(30))


def is_live(link: PatientLink) -> bool:
    return link.revoked_at is None and link.expires_at > utcnow()


def find_live(token: str) -> PatientLink | None:
    """The link for a token, if it may be used now. Unknown, expired and revoked are all None."""
    if not token or len(token) > 100:
        return None
    link = PatientLink.get_or_none(PatientLink.token_hash == digest(token))
    return link if link is not None and is_live(link) else None


def exchange(token: str, config, ip: str) -> tuple[PatientLinkSession, str] | None:
    """POST with the token: a new session secret for the cookie, or None (same for every failure)."""
    link = find_live(token)
    if link is None:
        return None
    secret = secrets.token_urlsafe(32)
    with unit_of_work():
        session = PatientLinkSession.create(
            session_hash=digest(secret), link=link,
            expires_at=utcnow() + timedelta(minutes=setting(config, "PATIENT_LINK_SESSION_MINUTES")))
        link.uses += 1
        link.last_used_at = utcnow()
        link.save()
        audit.record("read", patient=link.patient_id, object_type="patient_link", object_ref=link.code,
                     actor_label="patient-link", detail={"step": "opened", "ip": ip})
    return session, secret


def session_for(secret: str | None) -> PatientLinkSession | None:
    if not secret or len(secret) > 100:
        return None
    session = PatientLinkSession.get_or_none(PatientLinkSession.session_hash == digest(secret))
    if session is None or session.expires_at <= utcnow() or not is_live(session.link):
        return None
    return session


def end_session(secret: str | None) -> None:
    if secret:
        PatientLinkSession.delete().where(PatientLinkSession.session_hash == digest(secret)).execute()


def throttled(link: PatientLink, ip: str, config) -> bool:
    since = utcnow() - timedelta(minutes=setting(config, "PATIENT_LINK_WINDOW_MINUTES"))
    failed = PatientLinkAttempt.select().where(PatientLinkAttempt.ok == False, PatientLinkAttempt.at > since)  # noqa: E712
    return (failed.where(PatientLinkAttempt.link == link).count() >= setting(config, "PATIENT_LINK_MAX_FAILURES_PER_LINK")
            or failed.where(PatientLinkAttempt.ip == ip).count()
            >= setting(config, "PATIENT_LINK_MAX_FAILURES_PER_ADDRESS"))


def _answer_matches(link: PatientLink, answer: str) -> bool:
    text = "".join((answer or "").split()).translate({0xFF10 + d: str(d) for d in range(10)})
    holder, patient = link.holder, link.patient
    if len(text) == 4 and text.isdigit():
        return secrets.compare_digest(holder.phone[-4:], text)
    for fmt in (text, text.replace("/", "-").replace(".", "-")):
        try:
            day = date.fromisoformat(fmt)
        except ValueError:
            continue
        return day in (holder.birth_date, patient.birth_date)
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) == 8:  # 20190315
        try:
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:])) in (holder.birth_date, patient.birth_date)
        except ValueError:
            return False
    return False


def verify(session: PatientLinkSession, answer: str, config, ip: str) -> str:
    """'ok', 'wrong' or 'throttled'. Every attempt is kept for the throttle and audited."""
    link = session.link
    if throttled(link, ip, config):
        audit.record("denied", patient=link.patient_id, object_type="patient_link", object_ref=link.code,
                     actor_label="patient-link", detail={"step": "check", "why": "throttled"})
        return "throttled"
    ok = _answer_matches(link, answer)
    with unit_of_work():
        PatientLinkAttempt.create(link=link, ip=(ip or "")[:45], ok=ok)
        if ok:
            session.verified_at = utcnow()
            session.save()
        audit.record("read" if ok else "denied", patient=link.patient_id, object_type="patient_link",
                     object_ref=link.code, actor_label="patient-link",
                     detail={"step": "check", "passed": ok})
    return "ok" if ok else "wrong"


def covered_patients(link: PatientLink) -> list[Patient]:
    """Whose records this link shows, in a stable order (the holder first)."""
    if link.scope == "family" and link.family_id:
        members = list(Patient.select().where(Patient.family == link.family_id, Patient.restricted == False)  # noqa
                       .order_by(Patient.birth_date))
        return sorted(members, key=lambda p: p.id != link.holder_id)
    return [link.patient]


def covered(link: PatientLink, code: str) -> Patient | None:
    """A patient the link shows, by code; None for anyone else (the caller answers 404)."""
    return next((p for p in covered_patients(link) if p.code == code), None)


def is_child(patient: Patient, today: date) -> bool:
    return age_on(patient.birth_date, today) < 12


# Sections of the personal centre. Other areas append their own (bills, membership, points):
# (key, title, template, provider(patient, config, today) -> dict | None); None hides the section.
SECTIONS: list[tuple[str, object, str, object]] = []


def register_section(key: str, title, template: str, provider) -> None:
    if all(k != key for k, *_ in SECTIONS):
        SECTIONS.append((key, title, template, provider))
