"""Delivery channels. Each send() raises on failure; the outbox decides about retries.

The outbox key travels with every message (SMS gateway `id`, e-mail Message-ID) so a
gateway can drop a repeat if a worker died after sending but before recording it.
"""
import json
import logging
import re
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

log = logging.getLogger("portal.notify")


class DeliveryError(Exception):
    pass


LINK_TOKEN = re.compile(r"(/p/)[A-Za-z0-9_\-]+")


def redact(text: str) -> str:
    """A message as it may appear in a log: patient-link tokens replaced (/p/<token> → /p/[redacted])."""
    return LINK_TOKEN.sub(r"\1[redacted]", text)


class ConsoleChannel:
    """The default on a fresh install (no SMS gateway, no SMTP): each message is written to the
    worker's log, so a new clinic sees what would be sent; link tokens never reach the log."""
    name = "console"

    def __init__(self, config):
        self.config = config

    def send(self, recipient: str, text: str, key: str, subject: str = "") -> str:
        masked = recipient[:3] + "****" + recipient[-4:] if len(recipient) >= 8 else "****"
        log.info("console (not sent: no SMS gateway or SMTP configured) message %s to %s: %s%s", key, masked,
                 f"[{redact(subject)}] " if subject else "", redact(text))
        return "logged"


class EmailChannel:
    name = "email"

    def __init__(self, config):
        self.config = config

    def send(self, recipient: str, text: str, key: str, subject: str = "") -> str:
        c = self.config
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = c["MAIL_FROM"], recipient, subject or c["CLINIC_NAME"]
        # The same Message-ID on every attempt, so a repeat after a crash can be recognised.
        domain = c["MAIL_FROM"].rpartition("@")[2] or "localhost"
        msg["Message-ID"] = f"<{key.replace(':', '-')}@{domain}>"
        msg.set_content(text)
        try:
            with smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=15) as smtp:
                if c["SMTP_STARTTLS"]:
                    smtp.starttls()
                if c["SMTP_USER"]:
                    smtp.login(c["SMTP_USER"], c["SMTP_PASSWORD"])
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp: {exc}") from exc
        return msg["Message-ID"]


class SmsHttpChannel:
    """POSTs a JSON body built from SMS_GATEWAY_BODY to SMS_GATEWAY_URL with a bearer token."""
    name = "sms"

    def __init__(self, config):
        self.config = config

    def send(self, recipient: str, text: str, key: str, subject: str = "") -> str:
        c = self.config
        body = c["SMS_GATEWAY_BODY"]
        for name, value in (("{phone}", recipient), ("{text}", text), ("{key}", key)):
            body = body.replace(name, json.dumps(value, ensure_ascii=False)[1:-1])
        request = urllib.request.Request(c["SMS_GATEWAY_URL"], data=body.encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "Idempotency-Key": key})
        if c["SMS_GATEWAY_TOKEN"]:
            request.add_header("Authorization", f"Bearer {c['SMS_GATEWAY_TOKEN']}")
        try:
            with urllib.request.urlopen(request, timeout=15) as resp:
                if resp.status >= 300:
                    raise DeliveryError(f"sms gateway answered {resp.status}")
                return resp.read(200).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"sms gateway answered {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"sms gateway: {exc}") from exc


def channel_for(name: str, config):
    """The configured channel for a preference; without configuration, the console."""
    if name == "email" and config["SMTP_HOST"]:
        return EmailChannel(config)
    if name == "sms" and config["SMS_GATEWAY_URL"]:
        return SmsHttpChannel(config)
    return ConsoleChannel(config)
