"""Configuration from the environment (read when the app is created); `instance/config.py`
may override any key."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh_CN", "en")


def instance_dir() -> Path:
    return Path(os.environ.get("PORTAL_INSTANCE", ROOT / "instance"))


def default_huey_url() -> str:
    return os.environ.get("HUEY_URL", f"sqlite:///{instance_dir() / 'huey.db'}")


def pdf_render_socket(instance: Path) -> str:
    """The renderer's Unix socket in the instance folder, or, when that path is longer than a
    socket address may be (108 bytes), a name in the system's temporary folder unique to it."""
    path = str(instance.resolve() / "pdf-renderer.sock")
    if len(path.encode()) <= 100:
        return path
    import hashlib
    import tempfile
    return str(Path(tempfile.gettempdir()) / f"portal-pdf-{hashlib.sha256(path.encode()).hexdigest()[:16]}.sock")


def from_env() -> dict:
    env = os.environ.get
    instance = instance_dir()
    locale = env("PORTAL_LOCALE", "zh_CN")
    return {
        "SECRET_KEY": env("SECRET_KEY"),  # generated into instance/ when absent
        "DATABASE_URL": env("DATABASE_URL", f"sqlite:///{instance / 'portal.db'}"),
        "HUEY_URL": default_huey_url(),
        "PORTAL_TZ": env("PORTAL_TZ", "Asia/Shanghai"),
        "PORTAL_LOCALE": locale,
        "BABEL_DEFAULT_LOCALE": locale,
        "BABEL_DEFAULT_TIMEZONE": env("PORTAL_TZ", "Asia/Shanghai"),
        "LANGUAGES": LANGUAGES,
        "CLINIC_NAME": env("CLINIC_NAME", "安心口腔诊所"),
        "CLINIC_ADDRESS": env("CLINIC_ADDRESS", ""),
        "CLINIC_PHONE": env("CLINIC_PHONE", ""),
        # Sessions: server-side records, ended on logout, password change or disabling.
        "SESSION_IDLE_MINUTES": int(env("SESSION_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_HOURS": int(env("SESSION_ABSOLUTE_HOURS", 12)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env("SESSION_COOKIE_SECURE", "") == "1",
        "SESSION_COOKIE_NAME": "portal_session",
        # Login throttling: a sliding window, never a permanent lock.
        "LOGIN_WINDOW_MINUTES": int(env("LOGIN_WINDOW_MINUTES", 15)),
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": int(env("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(env("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
        "DEMO_PASSWORD": env("PORTAL_DEMO_PASSWORD", "demo-pass-2026"),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        # Clinical images (X-rays, photos): files outside static/, backed up by `portal backup`.
        # Empty: <instance folder>/uploads/images.
        "IMAGE_ROOT": env("IMAGE_ROOT", ""),
        "SEARCH_PAGE_SIZE": 20,
        # Scheduling (DOMAIN.md "Booking and reminders"): the clinic's defaults, all changeable.
        "CLINIC_OPENS": env("CLINIC_OPENS", "08:00"),
        "CLINIC_CLOSES": env("CLINIC_CLOSES", "20:00"),
        "SLOT_MINUTES": int(env("SLOT_MINUTES", 15)),
        # Rendered day grids each web process keeps (per day, view and viewer); 0 draws every time.
        "SCHEDULE_GRID_CACHE": int(env("SCHEDULE_GRID_CACHE", 32)),
        # Printouts: WeasyPrint runs in one renderer process shared by the web workers and the Huey
        # worker (portal/reports/renderer.py), started on demand; it exits after PDF_RENDER_RECYCLE
        # printouts or PDF_RENDER_IDLE_SECONDS without one, giving its memory back. "inline": in
        # the asking process (a script, or to compare timings).
        "PDF_RENDERER": env("PDF_RENDERER", "process"),
        "PDF_RENDER_RECYCLE": int(env("PDF_RENDER_RECYCLE", 50)),
        "PDF_RENDER_IDLE_SECONDS": float(env("PDF_RENDER_IDLE_SECONDS", 120)),
        "PDF_RENDER_TIMEOUT": float(env("PDF_RENDER_TIMEOUT", 60)),
        "PDF_RENDER_SOCKET": env("PDF_RENDER_SOCKET", "") or pdf_render_socket(instance),
        "VISIT_MINUTES": {"first": 60, "revisit": 30, "emergency": 30, "recall": 45, "followup": 20},
        "FIRST_VISIT_MIN_MINUTES": 60,
        "REMINDER_DAY_BEFORE_AT": env("REMINDER_DAY_BEFORE_AT", "10:00"),  # local time, the day before
        "REMINDER_HOURS_BEFORE": int(env("REMINDER_HOURS_BEFORE", 3)),
        "QUIET_HOURS": (env("QUIET_FROM", "21:00"), env("QUIET_UNTIL", "08:00")),
        # Outbox delivery
        "OUTBOX_LEASE_SECONDS": int(env("OUTBOX_LEASE_SECONDS", 120)),  # a claim older than this is retried
        "OUTBOX_MAX_ATTEMPTS": int(env("OUTBOX_MAX_ATTEMPTS", 5)),
        "SMTP_HOST": env("SMTP_HOST", ""),
        "SMTP_PORT": int(env("SMTP_PORT", 25)),
        "SMTP_USER": env("SMTP_USER", ""),
        "SMTP_PASSWORD": env("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": env("SMTP_STARTTLS", "") == "1",
        "MAIL_FROM": env("MAIL_FROM", "clinic@localhost"),
        "SMS_GATEWAY_URL": env("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_TOKEN": env("SMS_GATEWAY_TOKEN", ""),
        # JSON body; {phone}, {text} and {key} (idempotency key) are filled in, JSON-escaped.
        "SMS_GATEWAY_BODY": env("SMS_GATEWAY_BODY", '{"to": "{phone}", "text": "{text}", "id": "{key}"}'),
        # Billing and membership (issue 7): defaults the manager can change in Members ▸ Settings.
        "MEMBER_DEFAULTS": {"points_per_yuan": int(env("POINTS_PER_YUAN", 1)), "approval_limit_fen": 20000,
                            "birthday_mode": env("BIRTHDAY_MODE", "day"), "plan": env("MEMBER_PLAN", "A"),
                            "birthday_discount_pct": 10, "point_value_fen": 1, "registration_fee_fen": 1000,
                            "referral_points_referrer": 500, "referral_points_referee": 200,
                            "expiry_notice_days": 30},
    }
