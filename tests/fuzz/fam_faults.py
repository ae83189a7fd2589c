"""Family 4: sweep faults. A small sweep (tests/data/sweeps/fake_grid.yaml, 24 points, the fake model of
tests/sweep_helpers.py) is killed, starved of disk, denied permissions, fed wrong-typed and garbage parts,
pointed at a scheduler that is not one, and so on. Each fault checks what the issue asks: one line and exit
2 for a refusal, no traceback, no process left running, and after a rerun the same table as a sweep that
was never disturbed (no silently changed results)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from harness import Case, FakeService, Outcome, processes_with_marker, reap_marker, refusal_problems, run_cases

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "sweeps"
GRID = str(DATA / "fake_grid.yaml")
EVAL = ["--evaluator", "sweep_helpers:fake_evaluate"]


def _env(**extra: str) -> dict[str, str]:
    path = [p for p in (os.environ.get("PYTHONPATH"), str(ROOT), str(ROOT / "tests")) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path), "CI": "1", **extra}


def _sweep_argv(out: Path, *extra: str, sweep: str = GRID) -> list[str]:
    return ["sweep", sweep, "--out", str(out), "--no-progress", *EVAL, *extra]


def _table(out: Path):
    import pandas as pd

    return pd.read_parquet(out).drop(columns=["elapsed_s"]).reset_index(drop=True)


class Faults:
    def __init__(self, work: Path, mem_mb: int):
        self.work = work
        self.mem_mb = mem_mb
        self.outcomes: list[Outcome] = []
        self.parts_before_kill = 1
        ref = work / "reference.parquet"
        subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(ref, "--workers", "1")], env=_env(),
                       capture_output=True, check=False, timeout=300)
        self.reference = _table(ref)

    # ------------------------------------------------------------------------------------- recording

    def record(self, name: str, rc: int | None, stdout: str, stderr: str, t0: float, problems: list[str],
               kind_if_bad: str = "changed", refusal: bool = False, files: tuple[str, ...] = ()) -> None:
        kind = "refused" if refusal else "ok"  # a kill or a rerun that behaved: its exit code was checked above
        detail = ""
        if "Traceback (most recent call last)" in stderr:
            kind, detail = "traceback", stderr.strip().splitlines()[-1]
        elif refusal:
            why = refusal_problems(stderr, files) if rc == 2 else [f"exit code {rc}, not 2"]
            if why:
                kind, detail = "bad_refusal", "; ".join(why)
        if problems and kind not in ("traceback", "bad_refusal"):
            kind, detail = kind_if_bad, "; ".join(problems)
        self.outcomes.append(Outcome(name, [name], rc, stdout, stderr, time.perf_counter() - t0, kind, detail))

    def same_as_reference(self, out: Path) -> list[str]:
        import pandas as pd

        try:
            pd.testing.assert_frame_equal(_table(out), self.reference)
        except AssertionError as exc:
            return [f"results differ from an undisturbed sweep: {' '.join(str(exc).split())[:200]}"]
        return []

    def resume(self, out: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        res = subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, *extra)], env=_env(),
                             capture_output=True, text=True, timeout=300)
        problems = [] if res.returncode == 1 else [f"the rerun exited {res.returncode}: {res.stderr.strip()[-200:]}"]
        return res, problems + self.same_as_reference(out)

    # ------------------------------------------------------------------------------------------ kills

    def kill(self, name: str, sig: int, *extra: str) -> None:
        t0 = time.perf_counter()
        out = self.work / f"{name}.parquet"
        marker = f"fuzz-fault-{name}-{os.getpid()}-{time.monotonic_ns()}"
        proc = subprocess.Popen([sys.executable, "-m", "snapsim", *_sweep_argv(out, *extra)],
                                env=_env(SNAPSIM_FAKE_SLEEP_S="0.25", SNAPSIM_FUZZ_CASE=marker),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                # a shell's background job ignores SIGINT and children inherit that (Python then
                                # installs no handler): give the sweep the default a user's terminal gives it
                                preexec_fn=_default_sigint)
        problems = []
        deadline = time.monotonic() + 120
        from snapsim.sweep.store import parts_dir

        while time.monotonic() < deadline and proc.poll() is None and \
                len(list(parts_dir(out).glob("part-*.parquet"))) < self.parts_before_kill:
            time.sleep(0.02)
        if proc.poll() is not None:
            problems.append("the sweep ended before it could be interrupted")
        proc.send_signal(sig)
        try:
            stdout, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            problems.append(f"still running 60 s after signal {sig}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and processes_with_marker(marker):
            time.sleep(0.1)
        left = processes_with_marker(marker)
        if left:
            reap_marker(marker)
            self.outcomes.append(Outcome(name, [name], proc.returncode, stdout, stderr, time.perf_counter() - t0,
                                         "orphan", f"{len(left)} processes outlived the sweep"))
            return
        if sig == signal.SIGINT and proc.returncode != 130:
            problems.append(f"SIGINT gave exit code {proc.returncode}, not 130")
        _res, more = self.resume(out)
        self.record(name, proc.returncode, stdout, stderr, t0, problems + more)

    # ----------------------------------------------------------------------------------- write faults

    def injected(self, name: str, err: int) -> None:
        """pq.write_table in the store fails with ``err`` from its second call on (half a file written)."""
        out = self.work / f"{name}.parquet"

        def fault() -> int:
            import pyarrow.parquet as pq

            import snapsim.sweep.store as store
            from snapsim.cli import main

            real, calls = pq.write_table, [0]

            def write(table, where, *a, **k):
                calls[0] += 1
                if calls[0] > 1:
                    Path(where).write_bytes(b"PAR1 half")
                    raise OSError(err, os.strerror(err), str(where))
                return real(table, where, *a, **k)

            store.pq.write_table = write
            return main(_sweep_argv(out, "--workers", "1"))

        self._refusal_then_resume(name, fault, out, os.strerror(err))

    def fsize(self, name: str) -> None:
        """A real kernel fault: RLIMIT_FSIZE stops every write past 4 KiB (EFBIG, File too large)."""
        out = self.work / f"{name}.parquet"

        def fault() -> int:
            import resource

            from snapsim.cli import main

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
            return main(_sweep_argv(out, "--workers", "1"))

        self._refusal_then_resume(name, fault, out, "File too large")

    def _refusal_then_resume(self, name: str, fault: Callable[[], int], out: Path, reason: str,
                             then: Callable[[], None] | None = None) -> None:
        t0 = time.perf_counter()
        env = {"PYTHONPATH": _env()["PYTHONPATH"]}
        [o] = run_cases([Case(name, func=fault, files=(str(out), str(out) + ".parts", GRID), timeout_s=120,
                              mem_mb=self.mem_mb, env=env)], jobs=1, workdir=self.work / "w")
        problems = []
        if o.kind == "refused" and reason not in o.stderr:
            problems.append(f"the refusal does not say {reason!r}")
        if o.kind not in ("refused",):
            self.outcomes.append(o)
            return
        if then is not None:
            then()
        _res, more = self.resume(out, "--workers", "1")
        self.record(name, o.rc, o.stdout, o.stderr, t0, problems + more, refusal=True,
                    files=(str(out), str(out) + ".parts", GRID))

    def not_a_directory(self) -> None:
        name = "parts path is a file"
        out = self.work / "notdir.parquet"
        Path(str(out) + ".parts").write_text("in the way")
        self._refusal_then_resume(name, lambda: _cli(_sweep_argv(out, "--workers", "1")), out, "is not a directory",
                                  then=lambda: os.unlink(str(out) + ".parts"))

    def read_only_parts(self) -> None:
        """A parts directory nobody may write to: chmod as a user; as root (whom modes do not stop) the
        immutable attribute (chattr +i), or an injected EACCES when the file system has no such attribute."""
        name = "read-only parts directory"
        out = self.work / "ro.parquet"
        parts = Path(str(out) + ".parts")
        parts.mkdir()
        undo: Callable[[], None]
        if os.geteuid() != 0:
            parts.chmod(0o555)
            undo = lambda: parts.chmod(0o755)  # noqa: E731
        elif _chattr(parts, "+i"):
            undo = lambda: _chattr(parts, "-i")  # noqa: E731
        else:
            return self.injected("read-only parts (injected EACCES)", errno.EACCES)
        try:
            self._refusal_then_resume(name, lambda: _cli(_sweep_argv(out, "--workers", "1")), out, "", then=undo)
        finally:
            undo()

    def immutable_results(self) -> None:
        """The results file cannot be replaced at the end (chattr +i; injected EPERM without root)."""
        name = "immutable results file"
        out = self.work / "immutable.parquet"
        half = self.work / "half.yaml"
        half.write_text(Path(GRID).read_text().replace("[8, 13, 16, 32]", "[8, 13]")
                        .replace("tiny_workload.yaml", str(DATA / "tiny_workload.yaml"))
                        .replace("../../../hwconfigs", str(ROOT / "hwconfigs")))
        subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--workers", "1", sweep=str(half))],
                       env=_env(), capture_output=True, timeout=300)
        real = os.stat(out)
        use_chattr = os.geteuid() == 0 and _chattr(out, "+i")
        if use_chattr:
            def fault() -> int:
                return _cli(_sweep_argv(out, "--workers", "1"))
        else:
            def fault() -> int:
                real_replace, seen = os.replace, []

                def replace(src, dst, *a, **k):
                    if Path(dst) == out:
                        seen.append(dst)
                        if len(seen) > 1:
                            raise PermissionError(errno.EPERM, "Operation not permitted", str(dst))
                    return real_replace(src, dst, *a, **k)

                os.replace = replace
                return _cli(_sweep_argv(out, "--workers", "1"))
        try:
            self._refusal_then_resume(name, fault, out, "Operation not permitted",
                                      then=lambda: _chattr(out, "-i") if use_chattr else None)
        finally:
            if use_chattr:
                _chattr(out, "-i")
        del real

    def wrong_parts(self) -> None:
        """Parts of the wrong types among good ones: coerced (whole floats in an int column) or set aside and
        their points run again; the int columns stay ints."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        t0 = time.perf_counter()
        name = "wrong-typed and garbage parts"
        out = self.work / "typed.parquet"
        subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--workers", "1")], env=_env(),
                       capture_output=True, timeout=300)
        table = pq.read_table(out)
        rows = table.to_pylist()
        pq.write_table(pa.Table.from_pylist(rows[5:], schema=table.schema), out)
        parts = Path(str(out) + ".parts")
        parts.mkdir()

        def part(i: int, col: str, values) -> None:
            t = pa.Table.from_pylist([rows[i]], schema=table.schema)
            t = t.set_column(t.schema.get_field_index(col), col, pa.array(values))
            pq.write_table(t, parts / f"part-{i}.parquet")

        part(0, "seed", [float(rows[0]["seed"])])
        part(1, "seed", ["seven"])
        part(2, "status", [3])
        part(3, "point_index", ["x"])
        (parts / "part-4.parquet").write_bytes(b"PAR1 garbage, not parquet")
        res, problems = self.resume(out, "--workers", "1")
        if pq.read_table(out).schema.field("seed").type != pa.int64():
            problems.append("the int column seed is no longer int64")
        if res.stdout.count("warning: ") != 4:
            problems.append(f"expected 4 parts set aside, the summary says: {res.stdout.strip()[-300:]}")
        self.record(name, res.returncode, res.stdout, res.stderr, t0, problems)

    def garbage_results(self) -> None:
        name = "results file is not Parquet"
        out = self.work / "garbage.parquet"
        out.write_bytes(b"not a parquet file at all")
        before = out.read_bytes()
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--workers", "1")], env=_env(),
                             capture_output=True, text=True, timeout=120)
        problems = [] if out.read_bytes() == before else ["the file was overwritten"]
        self.record(name, res.returncode, res.stdout, res.stderr, t0, problems, refusal=True, files=(str(out),))

    def concurrent(self) -> None:
        name = "two sweeps on one output"
        out = self.work / "twice.parquet"
        t0 = time.perf_counter()
        first = subprocess.Popen([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--workers", "1")],
                                 env=_env(SNAPSIM_FAKE_SLEEP_S="0.2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        from snapsim.sweep.store import parts_dir

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not parts_dir(out).is_dir():
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--workers", "1")], env=_env(),
                                capture_output=True, text=True, timeout=120)
        first.communicate(timeout=300)
        problems = [] if "another sweep is writing" in second.stderr else ["the second sweep was not refused"]
        problems += self.same_as_reference(out)
        self.record(name, second.returncode, second.stdout, second.stderr, t0, problems, refusal=True,
                    files=(str(out),))

    # ------------------------------------------------------------------------------------------- Dask

    def scheduler(self, name: str, greeting: bytes | None, refuse_port: bool = False) -> None:
        out = self.work / f"{name}.parquet"
        server = None
        if refuse_port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]  # closed again: nothing listens there
        else:
            server = FakeService(greeting)
            port = server.port
        t0 = time.perf_counter()
        try:
            res = subprocess.run([sys.executable, "-m", "snapsim", *_sweep_argv(out, "--scheduler",
                                                                              f"tcp://127.0.0.1:{port}")],
                                 env=_env(), capture_output=True, text=True, timeout=120)
        finally:
            if server:
                server.close()
        problems = []
        if time.perf_counter() - t0 > 20:
            problems.append(f"took {time.perf_counter() - t0:.0f} s to give up")
        left = [p.name for p in self.work.iterdir() if p.name.startswith(name)]
        if left:
            problems.append(f"left {left} behind")
        self.record(name, res.returncode, res.stdout, res.stderr, t0, problems, refusal=True)

    def pareto_unfinished(self) -> None:
        name = "pareto of a killed sweep"
        out = self.work / "sigkill.parquet"  # rerun to completion above: make an unfinished one
        unfinished = self.work / "unfinished.parquet"
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "snapsim", *_sweep_argv(unfinished, "--workers", "1")],
                                env=_env(SNAPSIM_FAKE_SLEEP_S="0.2"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        from snapsim.sweep.store import load_results, parts_dir

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(parts_dir(unfinished).glob("part-*.parquet"))) < 2:
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        n = len(load_results(unfinished))
        res = subprocess.run([sys.executable, "-m", "snapsim", "pareto", str(unfinished), "-o",
                              str(self.work / "front.png"), "--x", "latency_ns_p50", "--y", "energy_pj_per_inf"],
                             env=_env(), capture_output=True, text=True, timeout=120)
        ok_rows = int((load_results(unfinished)["status"] == "ok").sum())
        problems = [] if f"{ok_rows} points from" in res.stdout and n >= 1 else \
            [f"pareto did not read the {n} finished points: {res.stdout.strip()[:200]} {res.stderr.strip()[:200]}"]
        del out
        self.record(name, res.returncode, res.stdout, res.stderr, t0, problems)


def _cli(argv: list[str]) -> int:
    from snapsim.cli import main

    return main(argv)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _chattr(path: Path, flag: str) -> bool:
    try:
        return subprocess.run(["chattr", flag, str(path)], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run(work: Path, mem_mb: int, rounds: int = 1) -> tuple[list[Outcome], int]:
    """The faults once; the kills ``rounds`` times (each after a different number of finished parts)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    f = Faults(work, mem_mb)
    for r in range(rounds):
        f.parts_before_kill = 1 + r
        suffix = f"-{r}" if r else ""
        f.kill("sigkill" + suffix, signal.SIGKILL, "--workers", "2")
        f.kill("sigterm" + suffix, signal.SIGTERM, "--workers", "2")
        f.kill("sigint" + suffix, signal.SIGINT, "--workers", "2")
        f.kill("sigkill-dask-local" + suffix, signal.SIGKILL, "--scheduler", "local")
    f.injected("no space left (ENOSPC)", errno.ENOSPC)
    f.injected("permission denied (EACCES)", errno.EACCES)
    f.injected("read-only file system (EROFS)", errno.EROFS)
    f.fsize("file size limit (EFBIG)")
    f.not_a_directory()
    f.read_only_parts()
    f.immutable_results()
    f.wrong_parts()
    f.garbage_results()
    f.concurrent()
    f.scheduler("dask-refused-port", None, refuse_port=True)
    f.scheduler("dask-http-service", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    f.scheduler("dask-ssh-service", b"SSH-2.0-OpenSSH_9.6\r\n")
    f.scheduler("dask-silent-service", None)
    f.pareto_unfinished()
    return f.outcomes, len(f.outcomes)
