"""Failures of the environment (database stopped, read-only folder, a mistyped URL) are told in one
line that says what is wrong and how to fix it, exit code 1, never a traceback; `/healthz` answers
JSON 503 naming the part that is down (issue 12)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from portal import create_app
from portal.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
DOWN_PG = "postgresql://postgres@127.0.0.1:1/portal"  # nothing listens on port 1


@pytest.fixture()
def read_only_folder(tmp_path):
    """A folder this process cannot write into. root ignores file modes: /sys refuses even root."""
    if os.geteuid() == 0:
        if _writable("/sys"):
            pytest.skip("no folder is read-only for root here")
        yield Path("/sys")
        return
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def _writable(folder):
    try:
        (Path(folder) / ".portal-probe").touch()
    except OSError:
        return False
    (Path(folder) / ".portal-probe").unlink()
    return True


def run(*args, **env):
    full = {"PORTAL_LOCALE": "en", "PORTAL_NEW_PASSWORD": "a-long-enough-password-1",
            "SECRET_KEY": "cli-failure-tests"}
    full.update(env)
    return CliRunner().invoke(cli, list(args), env=full)


def one_clean_line(result):
    """click's one-line "Error: …", exit 1, no traceback, no exception escaping."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


COMMANDS = [("init",), ("demo",), ("create-user", "newdesk", "--role", "frontdesk")]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_postgresql_down_says_start_it(args, tmp_path):
    line = one_clean_line(run(*args, DATABASE_URL=DOWN_PG, PORTAL_INSTANCE=str(tmp_path)))
    assert "cannot connect" in line and "127.0.0.1" in line
    assert "start PostgreSQL" in line and "DATABASE_URL" in line
    assert "portal init" not in line


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_read_only_instance_folder_says_which_folder(args, read_only_folder):
    result = run(*args, PORTAL_INSTANCE=str(read_only_folder), DATABASE_URL=None, HUEY_URL=None,
                 SECRET_KEY=None)
    line = one_clean_line(result)
    assert str(read_only_folder) in line and "writable" in line and "PORTAL_INSTANCE" in line


@pytest.mark.parametrize("args", COMMANDS + [("check",), ("backup",)], ids=lambda a: a[0])
def test_bad_database_url_names_the_schemes(args, tmp_path):
    line = one_clean_line(run(*args, DATABASE_URL="nosuch://x", PORTAL_INSTANCE=str(tmp_path)))
    assert "DATABASE_URL" in line and "nosuch" in line and "postgresql://" in line


def test_a_command_before_init_says_run_portal_init(tmp_path):
    """Reachable but empty database: the fix is `portal init`."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    line = one_clean_line(run("create-user", "newdesk", "--role", "frontdesk", DATABASE_URL=url,
                              PORTAL_INSTANCE=str(tmp_path)))
    assert "portal init" in line


def test_real_command_line_prints_one_line(tmp_path):
    """As an operator sees it: the installed entry point, a stopped PostgreSQL."""
    env = {**os.environ, "DATABASE_URL": DOWN_PG, "PORTAL_INSTANCE": str(tmp_path), "PORTAL_LOCALE": "en"}
    env.pop("PORTAL_TEST_NOW", None)
    proc = subprocess.run([sys.executable, "-m", "portal.cli", "init"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    out = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(out) == 1 and "start PostgreSQL" in out[0], out


def checks_of(output):
    """{check name: (status, detail, fix)} from `portal check`'s report."""
    found, name = {}, None
    for line in output.splitlines():
        if line.startswith("[") and "] " in line and ": " in line:
            status, rest = line[1:].split("] ", 1)
            name, detail = rest.split(": ", 1)
            found[name] = (status, detail, "")
        elif line.strip().startswith("fix: ") and name:
            found[name] = found[name][:2] + (line.strip()[5:],)
    return found


def test_check_gives_the_right_fix_for_a_database_that_is_down(tmp_path):
    result = run("check", DATABASE_URL=DOWN_PG, PORTAL_INSTANCE=str(tmp_path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    checks = checks_of(result.output)
    assert checks["database"][0] == "FAIL" and "cannot connect" in checks["database"][1]
    assert "start PostgreSQL" in checks["database"][2] and "DATABASE_URL" in checks["database"][2]
    for name in ("audit chain", "schedule triggers"):
        status, detail, fix = checks[name]
        assert status == "FAIL" and "portal init" not in fix, (name, fix)
        assert "start PostgreSQL" in fix, (name, fix)


def test_check_says_portal_init_for_an_unmigrated_database(tmp_path):
    result = run("check", DATABASE_URL=f"sqlite:///{tmp_path / 'new.db'}", PORTAL_INSTANCE=str(tmp_path))
    checks = checks_of(result.output)
    for name in ("database", "audit chain", "schedule triggers"):
        assert checks[name][0] == "FAIL" and "portal init" in checks[name][2], result.output


# --- /healthz --------------------------------------------------------------------------------

def _health(url, tmp_path):
    os.environ.setdefault("PORTAL_INSTANCE", str(tmp_path))
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "TESTING": True})
    return app.test_client().get("/healthz")


def test_healthz_with_postgresql_down_answers_json_503(tmp_path):
    resp = _health(DOWN_PG, tmp_path)
    assert resp.status_code == 503 and resp.mimetype == "application/json", resp.get_data(as_text=True)[:200]
    data = resp.get_json()
    assert data["status"] == "degraded" and data["db"] != "ok"
    assert "127.0.0.1" not in resp.get_data(as_text=True)  # a public page tells no internals


def test_healthz_with_an_unreadable_sqlite_file_answers_json_503(tmp_path):
    (tmp_path / "portal.db").mkdir()  # a folder where the database file should be: cannot be opened
    resp = _health(f"sqlite:///{tmp_path / 'portal.db'}", tmp_path)
    assert resp.status_code == 503 and resp.mimetype == "application/json"
    assert resp.get_json()["status"] == "degraded" and resp.get_json()["db"] != "ok"
