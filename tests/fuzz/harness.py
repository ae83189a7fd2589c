"""Run one snapsim command in a forked child with a time and memory limit, and judge what came out.

The fuzz suite runs thousands of commands. Starting an interpreter for each would take about a second,
so the runner (``run.py``) imports snapsim once and forks a child per case (a few milliseconds). The
child gets its own process group, a memory limit (``RLIMIT_AS``), stdout and stderr in files, and an
environment marker ``SNAPSIM_FUZZ_CASE`` that every process it starts inherits, so processes left
running after the case ends (orphans: sweep workers, a forkserver) are found by scanning ``/proc``.

A case's outcome is one of:

* ``ok``: exit 0;
* ``refused``: exit 2 and a well-formed refusal (see :func:`refusal_problems`);
* ``failed``: another non-zero exit the command documents (1: a sweep with failed points);
* ``traceback``: an exception escaped ``snapsim.cli.main`` (MemoryError and OverflowError included), or
  ``Traceback`` appears in the output;
* ``hang``: still running at the deadline (killed);
* ``crash``: killed by a signal (e.g. the kernel's out-of-memory killer);
* ``bad_refusal``: exit 2 whose message is not one line per problem naming a file (and a line where the
  case says there is one).
"""

from __future__ import annotations

import io
import os
import re
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

MARKER = "SNAPSIM_FUZZ_CASE"
EXIT_TRACEBACK = 70  # EX_SOFTWARE: an exception escaped the command

BAD_KINDS = ("traceback", "hang", "crash", "bad_refusal", "orphan", "changed", "accepted")
"""Outcomes that count against the suite (``orphan``, ``changed`` and ``accepted`` are set by checks
after the command: processes left running, a result silently different from the reference, a hostile
input that should have been refused)."""


@dataclass
class Outcome:
    case: str
    argv: list[str]
    rc: int | None
    stdout: str
    stderr: str
    elapsed_s: float
    kind: str
    detail: str = ""
    orphans: list[int] = field(default_factory=list)

    @property
    def bad(self) -> bool:
        return self.kind in BAD_KINDS

    def short(self) -> str:
        err = self.stderr.strip().splitlines()
        head = err[-1] if self.kind == "traceback" and err else (err[0] if err else self.stdout[:200])
        return f"[{self.kind}] {self.case}: rc={self.rc} {self.elapsed_s:.1f}s {self.detail} :: {head[:300]}"


# ----------------------------------------------------------------------------------------- refusals

_PREFIX = re.compile(r"^snapsim(?: [a-z-]+)+: error: ")
_SUMMARY = re.compile(r"^snapsim validate: \d+ of \d+ file\(s\) invalid$")
_USAGE = re.compile(r"^usage: snapsim")


def refusal_problems(stderr: str, files: Sequence[str] = (), need_line: bool = False) -> list[str]:
    """Why ``stderr`` of an exit-2 command is not a clean refusal (empty when it is).

    Clean: no traceback; at least one line; every line is one problem ``[snapsim CMD: error: ]WHERE: message``
    where WHERE is a file path (``file`` or ``file:line``) or a command-line option (``--flag``), or the
    validate summary. With ``files``, the file named must be one of them or lie beside one (a preset or a
    trace shard); with ``need_line``, a problem about one of ``files`` must carry its line."""
    out = []
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    if not lines:
        return ["no message on stderr"]
    if "Traceback (most recent call last)" in stderr:
        return ["traceback in stderr"]
    for ln in lines:
        if _SUMMARY.match(ln) or _USAGE.match(ln):
            continue
        body = _PREFIX.sub("", ln)
        if body.startswith("-"):  # a command-line option is the place
            if not re.match(r"^--?[a-z][\w-]*\b", body):
                out.append(f"option problem without the option: {ln!r}")
            continue
        m = re.match(r"^(?P<file>[^:\n]+?)(?::(?P<line>\d+))?: \S", body)
        if not m:
            out.append(f"no file named: {ln!r}")
            continue
        name = m.group("file")
        if files and not _related(name, files):
            out.append(f"names {name!r}, not one of the inputs: {ln!r}")
            continue
        if need_line and m.group("line") is None and _is_one_of(name, files):
            out.append(f"no line number: {ln!r}")
    return out


def _is_one_of(name: str, files: Sequence[str]) -> bool:
    p = _norm(name)
    return any(p == _norm(f) for f in files)


def _related(name: str, files: Sequence[str]) -> bool:
    p = _norm(name)
    for f in files:
        q = _norm(f)
        if p == q or p.startswith(q.rstrip("/") + "/") or Path(p).parent == Path(q).parent or \
                Path(p).parent == Path(q) or Path(p).parent.parent == Path(q).parent:
            return True
    # presets named by a hardware file live in the shipped hwconfigs
    return "/hwconfigs/" in p or "/data/" in p


def _norm(f: str) -> str:
    return os.path.abspath(f)  # not resolved: a refusal names the symlink it refuses


# -------------------------------------------------------------------------------------------- orphans


def processes_with_marker(value: str) -> list[int]:
    """Pids of live processes whose environment holds ``SNAPSIM_FUZZ_CASE=value`` (Linux /proc)."""
    needle = f"{MARKER}={value}\0".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read() + b"\0"
            with open(f"/proc/{d}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in env and state != b"Z":
            found.append(int(d))
    return found


def reap_marker(value: str) -> None:
    """Kill what :func:`processes_with_marker` finds (after it was counted as an orphan)."""
    for pid in processes_with_marker(value):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------- running


@dataclass
class Case:
    """One command to run: ``argv`` for ``snapsim``, or a callable run in the child (its return is the
    exit code). ``files`` are the inputs a refusal must name; ``need_line``: a refusal about them must
    carry a line number. ``expect``: outcomes other than these are bad (``None``: ok, refused or failed).
    ``check(outcome)`` may change the outcome's kind after the run (e.g. to ``changed``)."""

    name: str
    argv: list[str] | None = None
    func: Callable[[], int] | None = None
    files: tuple[str, ...] = ()
    need_line: bool = False
    timeout_s: float = 20.0
    mem_mb: int = 3072
    cwd: str | None = None
    env: dict[str, str] | None = None
    expect: tuple[str, ...] | None = None
    check: Callable[["Outcome"], None] | None = None
    orphan_grace_s: float = 3.0


class _Running:
    def __init__(self, case: Case, pid: int, out: Path, err: Path, t0: float, marker: str):
        self.case, self.pid, self.out, self.err, self.t0, self.marker = case, pid, out, err, t0, marker


def _child(case: Case, out: Path, err: Path, marker: str) -> None:  # pragma: no cover - runs in the fork
    code = EXIT_TRACEBACK
    try:
        os.setpgid(0, 0)
        os.environ[MARKER] = marker
        for k, v in (case.env or {}).items():
            os.environ[k] = v
        limit = case.mem_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        fo = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        fe = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fo, 1)
        os.dup2(fe, 2)
        sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), write_through=True)
        sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), write_through=True)
        sys.stdin = open(os.devnull)
        if case.cwd:
            os.chdir(case.cwd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            if case.func is not None:
                code = int(case.func() or 0)
            else:
                from snapsim.cli import main

                code = int(main(list(case.argv or [])) or 0)
        except SystemExit as exc:  # argparse usage errors
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = EXIT_TRACEBACK
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
    finally:
        os._exit(code)


def _judge(case: Case, rc: int | None, stdout: str, stderr: str, elapsed: float, timed_out: bool,
           signo: int | None) -> Outcome:
    argv = list(case.argv or [case.name])
    if timed_out:
        return Outcome(case.name, argv, None, stdout, stderr, elapsed, "hang", f"killed after {case.timeout_s:g} s")
    if signo is not None:
        return Outcome(case.name, argv, None, stdout, stderr, elapsed, "crash", f"signal {signo}")
    if rc == EXIT_TRACEBACK or "Traceback (most recent call last)" in stderr:
        return Outcome(case.name, argv, rc, stdout, stderr, elapsed, "traceback")
    if rc == 0:
        kind = "ok"
        detail = ""
    elif rc == 2:
        why = refusal_problems(stderr, case.files, case.need_line)
        kind, detail = ("bad_refusal", "; ".join(why)) if why else ("refused", "")
    elif rc in (1, 130):
        kind, detail = "failed", ""
    else:
        kind, detail = "crash", f"exit code {rc}"
    return Outcome(case.name, argv, rc, stdout, stderr, elapsed, kind, detail)


def run_cases(cases: Sequence[Case], jobs: int = 2, workdir: str | Path | None = None,
              on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run ``cases`` (``jobs`` at a time, each in a forked child); returns their outcomes in order."""
    tmp = Path(workdir or tempfile.mkdtemp(prefix="snapsim-fuzz-"))
    tmp.mkdir(parents=True, exist_ok=True)
    results: dict[int, Outcome] = {}
    queue = list(enumerate(cases))
    running: list[tuple[int, _Running]] = []
    sys.stdout.flush()
    sys.stderr.flush()
    while queue or running:
        while queue and len(running) < jobs:
            idx, case = queue.pop(0)
            out, err = tmp / f"{idx}.out", tmp / f"{idx}.err"
            marker = f"{os.getpid()}-{idx}-{time.monotonic_ns()}"
            pid = os.fork()
            if pid == 0:  # pragma: no cover
                _child(case, out, err, marker)
            running.append((idx, _Running(case, pid, out, err, time.monotonic(), marker)))
        time.sleep(0.002)
        still = []
        for idx, r in running:
            pid, status = os.waitpid(r.pid, os.WNOHANG)
            elapsed = time.monotonic() - r.t0
            timed_out = False
            if pid == 0:
                if elapsed < r.case.timeout_s:
                    still.append((idx, r))
                    continue
                timed_out = True
                try:
                    os.killpg(r.pid, signal.SIGKILL)
                except OSError:
                    pass
                _, status = os.waitpid(r.pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            signo = -rc if rc < 0 and not timed_out else None
            stdout = r.out.read_text(errors="replace") if r.out.exists() else ""
            stderr = r.err.read_text(errors="replace") if r.err.exists() else ""
            o = _judge(r.case, None if rc < 0 else rc, stdout, stderr, elapsed, timed_out, signo)
            # processes the case started and left running: give them a moment to notice their parent died
            deadline = time.monotonic() + r.case.orphan_grace_s
            left = processes_with_marker(r.marker)
            while left and time.monotonic() < deadline:
                time.sleep(0.1)
                left = processes_with_marker(r.marker)
            if left:
                o.orphans = left
                if not o.bad:
                    o.kind, o.detail = "orphan", f"{len(left)} processes left running"
                reap_marker(r.marker)
            if r.case.expect is not None and o.kind not in r.case.expect and not o.bad:
                o.detail = f"expected {'/'.join(r.case.expect)}; " + o.detail
                o.kind = "accepted" if o.kind == "ok" else "bad_refusal" if o.kind == "refused" else o.kind
                if o.kind not in BAD_KINDS:
                    o.kind = "accepted"
            if r.case.check is not None and not o.bad:
                try:
                    r.case.check(o)
                except Exception as exc:  # a check that cannot run is a finding too
                    o.kind, o.detail = "changed", f"check failed: {type(exc).__name__}: {exc}"
            for p in (r.out, r.err):
                p.unlink(missing_ok=True)
            results[idx] = o
            if on_outcome is not None:
                on_outcome(o)
        running = still
    return [results[i] for i in range(len(cases))]


# ------------------------------------------------------------------------------------ shared fixtures


def paths_in(node: Any, prefix: tuple = (), max_items: int | None = None) -> list[tuple]:
    """Every key path of nested dicts and lists (the first ``max_items`` of each list)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += paths_in(v, prefix + (k,), max_items)
    elif isinstance(node, list):
        for i, v in enumerate(node[:max_items]):
            out += paths_in(v, prefix + (i,), max_items)
    return out


def get_at(data: Any, path: tuple) -> Any:
    node = data
    for k in path:
        node = node[k]
    return node


def set_at(data: Any, path: tuple, value: Any, delete: bool = False) -> None:
    node = get_at(data, path[:-1])
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value


class FakeService:
    """A TCP service that is not a Dask scheduler: it greets each connection with ``greeting`` (or says
    nothing), like a web server answering garbage or an SSH daemon."""

    def __init__(self, greeting: bytes | None):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            if self.greeting:
                try:
                    conn.sendall(self.greeting)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()
