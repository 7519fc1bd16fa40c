"""A progress line that shows even under ``pytest -q`` and output capture (peer installs take minutes)."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
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
    """Run ``cmd`` (pip, apt-get: minutes) with a line when it starts, one every ``every`` s while it runs
    (elapsed time and its latest output line), and the elapsed time when it ends. A reader thread only
    queues the output; every line is said from the calling thread, so nothing else touches pytest's
    capture. Returns the completed process with stdout and stderr joined."""
    t0 = time.monotonic()
    say(f"{what}: started")
    env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")   # pip's lines as they come
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)
    q: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [q.put(x) for x in p.stdout] + [q.put(None)], daemon=True).start()
    lines, last, done = [], t0, False
    while not done:
        try:
            line = q.get(timeout=max(0.1, last + every - time.monotonic()))
            if line is None:
                done = True
            else:
                lines.append(line)
        except queue.Empty:
            pass
        now = time.monotonic()
        if not done and now - last >= every:
            tail = next((x.strip() for x in reversed(lines) if x.strip()), "")
            say(f"{what}: {now - t0:.0f} s" + (f", {tail[:100]}" if tail else ""))
            last = now
    rc = p.wait()
    say(f"{what}: {'done' if rc == 0 else f'FAILED (exit {rc})'} in {time.monotonic() - t0:.0f} s")
    out = "".join(lines)
    return subprocess.CompletedProcess(cmd, rc, out, out)
