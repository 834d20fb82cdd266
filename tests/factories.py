"""Test data through the real services, so tests see what the app would write."""
import itertools
from datetime import date

from portal.services import patients as registry
from tests.clock import clinic_today

_seq = itertools.count(1)


def phone() -> str:
    return f"139{next(_seq):08d}"


def patient(actor, name="张小明", sex="M", birth_date=date(1990, 5, 1), family=None, **kw):
    data = registry.PatientData(name=name, sex=sex, birth_date=birth_date,
                                phone=kw.pop("phone", None) or phone(), **kw)
    return registry.register(data, actor, clinic_today(), family=family, allow_duplicate=True)
