"""The suite's one clock: every test runs at a known time in the clinic, whatever the wall says.

The root conftest's autouse `clock` fixture sets the clock (time-machine, so datetime, date and
time.time agree in every thread, the live server's included) to DEFAULT_NOW in the clinic's time
zone and lets it tick from there, so `make test` gives the same answer at any hour of any day and
in any server time zone.

- `PORTAL_TEST_NOW="2026-12-31 23:50"` moves that default: CI runs the suite again at 22:30, 07:30
  and on New Year's Eve, so a test that quietly assumes office hours shows itself.
- A test that is *about* a time of day says so: `@pytest.mark.clock("2026-06-10 22:30")`, or
  moves the clock while it runs with `clock.set(…)` / `clock.advance(hours=…)`.
- A real subprocess (a `portal worker`) shares the clock: start it with
  `clock.python_command("portal.cli", "worker")` (tests/clock_child.py sets the same clock there;
  libfaketime is no help: it hangs Python's timed thread waits).

Tests ask for the clinic's date and time with `clinic_today()` / `clinic_now()`, never
`date.today()`, which is the *server's* date (a UTC server is still on yesterday at 07:30 in
Shanghai).
"""
import os
import sys
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine

CLINIC_TZ = ZoneInfo(os.environ.get("PORTAL_TZ", "Asia/Shanghai"))
DEFAULT_NOW = "2026-06-10 10:00"  # a Wednesday morning, a working day, doctors on shift


def clinic_moment(value: str | datetime) -> datetime:
    """'2026-06-10 22:30' (clinic time) or a naive clinic datetime -> an aware datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=CLINIC_TZ)


def clinic_now() -> datetime:
    """Now on the clinic's wall, naive (as the app's `local_now`)."""
    return datetime.now(CLINIC_TZ).replace(tzinfo=None)


def clinic_today() -> date:
    return clinic_now().date()


def suite_start() -> str:
    return os.environ.get("PORTAL_TEST_NOW") or DEFAULT_NOW


def suite_today() -> date:
    """The clinic's date in a test that does not pin its own time; for module-level constants,
    which are made at import, before any test's clock is set."""
    return clinic_moment(suite_start()).date()


class Clock:
    """A ticking clock set to a clinic time; move it with set() and advance()."""

    def __init__(self, start: str | datetime):
        self._travel = time_machine.travel(clinic_moment(start), tick=True)
        self._coordinates = self._travel.start()

    def set(self, when: str | datetime) -> None:
        self._coordinates.move_to(clinic_moment(when))

    def advance(self, **delta) -> None:
        self._coordinates.shift(timedelta(**delta))

    def now(self) -> datetime:
        return clinic_now()

    def today(self) -> date:
        return clinic_today()

    def stop(self) -> None:
        self._travel.stop()

    def python_command(self, module: str, *args: str) -> list[str]:
        """argv that runs `python -m module args…` with this clock (tests/clock_child.py)."""
        offset = time.time() - time_machine.escape_hatch.time.time()
        return [sys.executable, "-m", "tests.clock_child", f"{offset:.6f}", module, *args]
