"""A real PostgreSQL server for the test suite, started on loopback from the
system's binaries (the Makefile installs Debian's postgresql when missing)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL binaries not found: run `make deps` (apt-get install postgresql)")
    return Path(candidates[-1]).parent


def _vrije_poort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="zvh-pg-"))
        self.bin = _bindir()
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; run it as the postgres user then.
        self._als: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._als = ["runuser", "-u", "postgres", "--"]

    def start(self) -> str:
        data = self.dir / "data"
        initdb = [str(self.bin / "initdb"), "-D", str(data), "-U", "zvh", "-A", "trust", "--no-sync"]
        subprocess.run([*self._als, *initdb, "-E", "UTF8"], check=True, capture_output=True)
        for _ in range(5):
            self.port = _vrije_poort()
            settings = {
                "listen_addresses": "127.0.0.1",
                "unix_socket_directories": str(self.dir),
                "fsync": "off",
                "max_connections": "200",
            }
            args = [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port)]
            for key, value in settings.items():
                args += ["-c", f"{key}={value}"]
            with (self.dir / "log.txt").open("ab") as log:
                self._proc = subprocess.Popen([*self._als, *args], stdout=subprocess.DEVNULL, stderr=log)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self._proc.poll() is None:
                # An open TCP port is not enough: during recovery the server
                # accepts connections only to answer "the database system is
                # starting up". pg_isready asks the server itself.
                if self._klaar():
                    return f"postgresql://zvh@127.0.0.1:{self.port}"
                time.sleep(0.05)
            self.stop()  # port taken in the meantime, or slow start: try another port
        raise RuntimeError(f"PostgreSQL did not start; see {self.dir / 'log.txt'}")

    def _klaar(self) -> bool:
        isready = [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"]
        return subprocess.run(isready, check=False, capture_output=True).returncode == 0

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(20)
        self._proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
