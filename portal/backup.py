"""Backups: SQLite's online backup API or pg_dump, each verified before it is reported done,
plus the clinical images, mirrored into <backup folder>/images and checked against their hashes."""
import hashlib
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

from flask import current_app

from portal.db import db, is_sqlite


class BackupError(RuntimeError):
    pass


def _pg_env_and_url():
    url = current_app.config["DATABASE_URL"]
    return dict(os.environ), url


def _verify_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        result = con.execute("PRAGMA integrity_check").fetchone()[0]
        version = con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    except sqlite3.Error as exc:  # truncated, not a database, no schema: refuse, do not crash
        raise BackupError(f"backup {path} failed verification: {exc}") from exc
    finally:
        con.close()
    if result != "ok" or not version:
        raise BackupError(f"backup {path} failed verification: integrity={result}, schema={version}")


def _pg(args: list[str], env: dict, what: str) -> str:
    """Run a PostgreSQL client tool; its complaint becomes a BackupError the operator can read."""
    try:
        return subprocess.run(args, check=True, env=env, capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as exc:
        raise BackupError(f"{what} failed: {(exc.stderr or '').strip() or exc}") from exc


def _verify_pg_dump(path: Path, env: dict) -> None:
    """Read the whole archive (every data block), not only its table of contents: a truncated
    dump still lists fine."""
    listing = _pg(["pg_restore", "--list", str(path)], env, f"verifying {path}")
    if "TABLE DATA" not in listing:
        raise BackupError(f"backup {path} failed verification: no table data listed")
    _pg(["pg_restore", f"--file={os.devnull}", str(path)], env, f"verifying {path}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _recorded_images() -> list[tuple[str, str]]:
    from portal.models import ClinicalImage
    return list(ClinicalImage.select(ClinicalImage.stored_name, ClinicalImage.sha256).tuples())


def mirror_images(folder: Path) -> tuple[int, int]:
    """Copy the images the database knows of into folder/images. Stored files never change (each
    upload gets a new random name), so only new ones are copied: a daily backup of years of
    X-rays costs what that day added. Every copy is read back and checked against the hash
    recorded at upload. Returns (copied now, kept in all)."""
    from portal.services.chart_images import image_root
    source, target = image_root(), folder / "images"
    copied, missing = 0, []
    recorded = _recorded_images()
    for stored, sha in recorded:
        dest = target / stored[:2] / stored
        if dest.exists():
            continue
        src = source / stored[:2] / stored
        if not src.exists():
            missing.append(stored)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_suffix(dest.suffix + ".part")
        shutil.copyfile(src, partial)
        if _sha256(partial) != sha:
            partial.unlink()
            raise BackupError(f"image {stored} changed since it was uploaded (hash differs); not backed up")
        partial.rename(dest)  # only a verified copy ever has the final name
        copied += 1
    if missing:
        raise BackupError(f"{len(missing)} image(s) recorded in the database are missing from {source}, "
                          f"e.g. {missing[0]}; the database copy is written, the images are incomplete")
    return copied, len(recorded)


def restore_images(folder: Path) -> int:
    """Put back any image the restored database records that is absent from the image folder."""
    from portal.services.chart_images import image_root
    source, target = folder / "images", image_root()
    restored = 0
    for stored, sha in _recorded_images():
        dest = target / stored[:2] / stored
        src = source / stored[:2] / stored
        if dest.exists() or not src.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        restored += 1
    return restored


def make_backup(out_dir: str | None = None) -> Path:
    folder = Path(out_dir or Path(current_app.instance_path) / "backups")
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if is_sqlite():
        target = folder / f"portal-{stamp}.db"
        source = sqlite3.connect(db.obj.database)
        dest = sqlite3.connect(target)
        try:
            source.backup(dest)  # consistent copy while the clinic keeps working
        finally:
            dest.close()
            source.close()
        _verify_sqlite(target)
        return target
    if not shutil.which("pg_dump"):
        raise BackupError("pg_dump not found: apt-get install postgresql-client")
    env, url = _pg_env_and_url()
    target = folder / f"portal-{stamp}.dump"
    _pg(["pg_dump", "--format=custom", "--no-owner", f"--file={target}", url], env, "pg_dump")
    _verify_pg_dump(target, env)
    return target


def restore_backup(path: str) -> None:
    source = Path(path)
    if not source.exists():
        raise BackupError(f"{source} does not exist")
    if is_sqlite():
        _verify_sqlite(source)
        db.close()
        src = sqlite3.connect(source)
        dest = sqlite3.connect(db.obj.database)
        try:
            src.backup(dest)
        finally:
            src.close()
            dest.close()
        return
    env, url = _pg_env_and_url()
    _verify_pg_dump(source, env)  # refuse a damaged file before touching the database
    # One transaction: if anything fails part-way, the database is left as it was.
    _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
         f"--dbname={url}", str(source)], env, "pg_restore")
