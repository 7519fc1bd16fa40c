"""A progress line that shows even under ``pytest -q`` and output capture (peer installs take minutes)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

_config = None


def set_config(config) -> None:
    """Called from conftest's ``pytest_configure``: write through pytest's terminal reporter."""
    global _config
    _config = config


def say(msg: str) -> None:
    """One line on the terminal, outside pytest's capture (plain stderr when not under pytest)."""
    line = f"[peers] {msg}"
    if _config is not None:
        tr = _config.pluginmanager.get_plugin("terminalreporter")
        capman = _config.pluginmanager.get_plugin("capturemanager")
        if tr is not None:
            if capman is not None:
                with capman.global_and_fixture_disabled():
                    tr.write_line(line)
            else:
                tr.write_line(line)
            return
    print(line, file=sys.__stderr__, flush=True)


def run(cmd: list[str], what: str, every: float = 15.0, env=None) -> subprocess.CompletedProcess:
    """Run ``cmd`` (pip, apt-get: minutes) with a line when it starts, its latest output line at most every
    ``every`` s, and the elapsed time when it ends. Output is read in the calling thread, so no other
    thread ever touches pytest's capture. Returns the completed process with stdout and stderr joined."""
    t0 = last = time.monotonic()
    say(f"{what}: started")
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")   # pip's lines as they come
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    lines = []
    for line in p.stdout:
        lines.append(line)
        now = time.monotonic()
        if now - last >= every and line.strip():
            say(f"{what}: {now - t0:.0f} s, {line.strip()[:100]}")
            last = now
    rc = p.wait()
    say(f"{what}: {'done' if rc == 0 else f'FAILED (exit {rc})'} in {time.monotonic() - t0:.0f} s")
    out = "".join(lines)
    return subprocess.CompletedProcess(cmd, rc, out, out)
