"""A throwaway PostgreSQL server (Debian's postgresql, installed by `make postgresql`) on a free
loopback port under a temp dir, for the lake's many-machine catalog. Stopped and removed after.

PostgreSQL refuses to run as root; as root the server runs as the package's ``postgres`` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.devnet.nodes import free_port


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise RuntimeError(
            "Debian's postgresql is not installed; `make postgresql` (run by `make test`) "
            "installs it"
        )
    return Path(found[-1]).parent


@contextmanager
def running_postgres() -> Iterator[str]:
    """Yields a SQLAlchemy URL of a fresh server with trust auth for user ``olw``."""
    import psycopg2

    bindir = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="olw-pg-"))
    user = None
    if os.geteuid() == 0:
        user = "postgres"
        pw = pwd.getpwnam(user)
        os.chmod(base, 0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    data, log = base / "data", base / "server.log"
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-U", "olw", "--auth=trust", "-E", "UTF8",
             "--no-sync", "--no-instructions"],
            check=True, capture_output=True, user=user,
        )  # fmt: skip
        port = free_port()
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(base),
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                 "-c", "max_connections=100"],
                stdout=out, stderr=subprocess.STDOUT, user=user, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=port, user="olw", dbname="postgres").close()
                break
            except psycopg2.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    why = log.read_text()[-2000:]
                    raise RuntimeError(f"postgres did not start: {why}") from None
                time.sleep(0.1)
        yield f"postgresql+psycopg2://olw@127.0.0.1:{port}/postgres"
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGINT)  # fast shutdown: clients are cut off
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        shutil.rmtree(base, ignore_errors=True)
