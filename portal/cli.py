"""The `portal` command: init, demo, serve, worker, check, backup, restore, create-user."""
import getpass
import os
import sys
from pathlib import Path

import click

from portal import create_app
from portal.db import db


def _app():
    app = create_app()
    return app


class PortalGroup(click.Group):
    """Every command: a problem of the environment (database down or not created, a folder the
    portal cannot write, a mistyped URL) is one line saying what and how to fix it, exit 1."""

    def invoke(self, ctx):
        from portal.checks import explain
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            found = explain(exc)
            if found is None:
                raise  # a bug: keep the traceback
            what, fix = found
            raise click.ClickException(f"{what}; fix: {fix}") from exc


@click.group(cls=PortalGroup)
def main():
    """Dental clinic portal."""


@main.command()
def init():
    """Create or upgrade the database schema."""
    from portal.migrations import latest_version, migrate
    app = _app()
    with app.app_context():
        db.connect(reuse_if_open=True)
        applied = migrate()
        click.echo(f"schema at version {latest_version()}" + (f" (applied {', '.join(applied)})" if applied else ""))


@main.command()
@click.option("--first-run", is_flag=True, help="Only seed when the database has no staff yet.")
def demo(first_run):
    """Seed a believable demo clinic (idempotent)."""
    from portal.demo import seed_demo
    app = _app()
    with app.app_context():
        db.connect(reuse_if_open=True)
        report = seed_demo(app.config, first_run_only=first_run)
        click.echo(report)
        from portal.demo import DEMO_STAFF
        from portal.models import Staff
        present = {s.username for s in Staff.select(Staff.username)}
        demo_users = [u for u, _, _ in DEMO_STAFF if u in present]
        if demo_users:
            click.echo(f"demo logins: {', '.join(demo_users)}; password: $PORTAL_DEMO_PASSWORD "
                       f"(default demo-pass-2026)")


@main.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["doctor", "nurse", "frontdesk", "consultant", "manager"]),
              required=True)
@click.option("--name", "display_name", help="Name shown to colleagues (default: the user name).")
@click.option("--password", envvar="PORTAL_NEW_PASSWORD", help="Default: asked for, not echoed.")
def create_user(username, role, display_name, password):
    """Add a staff account (the first manager is made this way)."""
    from portal.services import ServiceError
    from portal.services.staff import create_staff
    if not password:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Again: "):
            raise click.ClickException("the two passwords differ")
    app = _app()
    with app.test_request_context():
        db.connect(reuse_if_open=True)
        try:
            staff = create_staff(username, display_name or username, role, password, must_change_password=False)
        except ServiceError as err:
            raise click.ClickException(str(err.message))
        click.echo(f"created {staff.username} ({staff.role})")


@main.command()
@click.option("--with-worker", is_flag=True, help="Also start the background worker (as `make run` does).")
@click.option("--workers", default=int(os.environ.get("WEB_CONCURRENCY", 2)), show_default=True)
def serve(with_worker, workers):
    """Run the web server with gunicorn on HOST:PORT."""
    from portal import serve_supervisor
    host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "5000")
    web = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--threads", "4",
           "--bind", f"{host}:{port}", "--access-logfile", "-", "wsgi:app"]
    argv = [sys.executable, "-I", serve_supervisor.__file__, _pdf_renderer_socket(), "--", *web]
    if with_worker:
        argv += ["--also--", sys.executable, "-m", "portal.cli", "worker"]
    click.echo(f"\n  Portal: http://{host}:{port}/\n")
    sys.stdout.flush()
    # glibc gives threads that allocate at once heap arenas of their own (up to 8 per core) that
    # each keep freed memory: two per process bound that for gunicorn's 4 threads and the Huey
    # worker's (tests/bench/test_memory_bench.py measures the whole server's RSS with it).
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # The supervisor replaces this process: it imports no Flask and stays small for the server's life.
    os.execv(sys.executable, argv)


def _pdf_renderer_socket() -> str:
    """The renderer's socket as the web workers will see it (environment and instance/config.py)."""
    from flask import Config

    from portal.config import from_env, instance_dir
    config = Config(str(instance_dir()))
    config.update(from_env())
    config.from_pyfile("config.py", silent=True)
    return str(config["PDF_RENDER_SOCKET"])


def configure_worker_logging(stream=None):
    """The worker's log goes to stderr (systemd/journald or the terminal keep it): task runs,
    failures and, on a fresh install, every message the console channel writes."""
    import logging
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    if not any(getattr(h, "_portal_worker", False) for h in root.handlers):
        handler._portal_worker = True
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


@main.command()
@click.option("--workers", default=2, show_default=True)
@click.option("--no-periodic", is_flag=True,
              help="Run queued tasks only: for every worker but one when several share a queue "
                   "(exactly one runs the periodic tasks, or each sweep would run once per worker).")
def worker(workers, no_periodic):
    """Run the Huey consumer (reminders, nightly checks)."""
    import tasks  # noqa: F401  registers the tasks
    from portal.jobs import huey, make_consumer
    configure_worker_logging()
    click.echo(f"worker: {type(huey).__name__}, {workers} threads, "
               f"periodic tasks {'off' if no_periodic else 'on'}")
    make_consumer(workers, periodic=not no_periodic, check_worker_health=True).run()


@main.command()
@click.option("--quiet-ok", is_flag=True, help="Print only the checks that fail.")
def check(quiet_ok):
    """Check the database, queue, fonts, HarfBuzz subsetting and the audit chain."""
    from portal.checks import run_checks
    app = _app()
    with app.app_context():
        results = run_checks()
    failed = False
    for name, ok, detail, fix in results:
        failed |= not ok
        if ok and quiet_ok:
            continue
        click.echo(f"[{'ok' if ok else 'FAIL'}] {name}: {detail}")
        if not ok and fix:
            click.echo(f"       fix: {fix}")
    sys.exit(1 if failed else 0)


@main.command()
@click.option("--out", "out_dir", default=None, help="Folder for the backup (default instance/backups).")
def backup(out_dir):
    """Back up the database (SQLite online backup or pg_dump) and verify the copy."""
    from portal.backup import BackupError, make_backup, mirror_images
    app = _app()
    with app.app_context():
        try:
            path = make_backup(out_dir)
            click.echo(f"backup written and verified: {path}")
            copied, kept = mirror_images(path.parent)
        except BackupError as err:
            raise click.ClickException(str(err))
    click.echo(f"images: {copied} new, {kept} in all, verified, in {path.parent / 'images'}")


@main.command()
@click.argument("path")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(path, yes):
    """Restore a backup made by `portal backup` (stop the web server and worker first)."""
    from portal.backup import BackupError, restore_backup, restore_images
    if not yes:
        click.confirm("This replaces the current database with the backup. Continue?", abort=True)
    app = _app()
    with app.app_context():
        try:
            restore_backup(path)
        except BackupError as err:
            raise click.ClickException(f"{err}; the database was not changed")
        db.connect(reuse_if_open=True)
        put_back = restore_images(Path(path).parent)
    click.echo(f"restored ({put_back} images put back); start the server again")


if __name__ == "__main__":
    main()
