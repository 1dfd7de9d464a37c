"""Recording a program's aten calls with PyTorch's own profiler, for mpsfb_report --torch-trace.

Used two ways, both started by tools/preflight.sh (docs/preflight.md):

* ``python tools/preflight/run.py --trace=FILE [--steps=N] -- script.py ARGS`` (or ``-m module ARGS``):
  the program runs in this process under ``torch.profiler.profile(activities=[CPU] (+ CUDA),
  record_shapes=True, with_stack=True)``; its exit status is passed through.
* ``python -m pytest -p mpsfb_preflight ...`` with ``MPSFB_PREFLIGHT_TRACE=FILE``: the whole session
  is recorded, each test inside a ``pytest: <nodeid>`` scope, so the report has one record per test.

The trace is PyTorch's Chrome trace (it opens in Perfetto), with one key added in front:
``mpsfb_preflight``, what the report needs and the trace lacks: the overload of every
(op, input types) seen (capture_overload_names), the exit status, whether the recording
is complete, the steps recorded and the worker processes started (not recorded). Judging is not
done here: the C++ report does it.
"""

import json
import multiprocessing.process
import os
import sys
import time

import torch
from torch.profiler import ProfilerActivity, profile

FORMAT = 1  # mpsfb_preflight.format: bumped when the added key changes shape


class Recorder:
    """One profiler session, stopped once: at the end, after N steps, or when the program fails."""

    def __init__(self, trace, steps=0, skip_steps=0, command=None):
        self.trace = trace
        self.steps = steps  # 0: the whole run
        self.skip_steps = skip_steps
        self.command = command or []
        self.pid = os.getpid()
        self.seen_steps = 0
        self.workers = 0  # processes started (multiprocessing, DataLoader workers)
        self.forks = 0  # os.fork() calls, those of multiprocessing's fork start included
        self.prof = None
        self.done = False
        self.started = False

    # --- the profiler
    def _activities(self):
        acts = [ProfilerActivity.CPU]
        if torch.cuda.is_available():
            acts.append(ProfilerActivity.CUDA)
        return acts

    def start(self):
        self._hooks()
        if self.skip_steps == 0:
            self._start_profiler()

    def _start_profiler(self):
        try:  # torch >= 2.8: the trace names each op with its overload
            config = torch._C._profiler._ExperimentalConfig(capture_overload_names=True)
            self.overload_names = True
        except TypeError:  # older torch: schema names only (the report says so)
            config = torch._C._profiler._ExperimentalConfig()
            self.overload_names = False
        self.prof = profile(activities=self._activities(), record_shapes=True, with_stack=True,
                            experimental_config=config)
        self.prof.__enter__()
        self.started = True
        self.t0 = time.perf_counter()

    def _hooks(self):
        # Worker processes (DataLoader num_workers > 0, multiprocessing) are counted, not recorded:
        # the profiler lives in this process only.
        original = multiprocessing.process.BaseProcess.start
        recorder = self

        def start(process, *a, **k):
            if os.getpid() == recorder.pid:
                recorder.workers += 1
            return original(process, *a, **k)

        multiprocessing.process.BaseProcess.start = start
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._forked)
        # A step is an optimizer step (any torch.optim optimizer).
        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(lambda *a: self.step())

    def _forked(self):
        if os.getpid() == self.pid:
            self.forks += 1

    def step(self):
        """One step of the program (an optimizer step, or a test under pytest)."""
        if os.getpid() != self.pid or self.done:
            return
        self.seen_steps += 1
        if not self.started and self.seen_steps >= self.skip_steps:
            self._start_profiler()
            self.seen_steps = 0
            return
        if self.started and self.steps and self.seen_steps >= self.steps:
            self.finish(status=None, complete=True, why="stopped after %d steps" % self.steps)

    def finish(self, status, complete, why=""):
        """Stops the profiler and writes the trace (once; only in the process that started it)."""
        if self.done or os.getpid() != self.pid:
            return
        self.done = True
        if not self.started:
            print("preflight: nothing recorded: the program made %d steps, fewer than --skip-steps=%d"
                  % (self.seen_steps, self.skip_steps), file=sys.stderr)
            return
        wall = time.perf_counter() - self.t0
        self.prof.__exit__(None, None, None)
        meta = {
            "format": FORMAT,
            "torch": torch.__version__,
            "cpu": cpu_name(),
            "command": self.command,
            "complete": complete,
            "exit_status": status,
            "stopped": why,
            "steps_recorded": self.seen_steps if self.steps else None,
            "recorded_s": round(wall, 6),
            "worker_processes": self.workers,
            "forks": self.forks,
            "pid": self.pid,
            # capture_overload_names: the trace names each op with its overload ("aten::add.Tensor").
            "overload_names": self.overload_names,
            # The profiler names a frame's file relative to its sys.path entry, so the standard
            # library's "typing.py" looks like a user's "train.py": the report skips these modules
            # (and torch) when it looks for the line of the program that made a call.
            "not_user_modules": sorted(set(getattr(sys, "stdlib_module_names", ())) | {"torch", "mpsfb_preflight",
                                                                                        "_distutils_hack"}),
        }
        tmp = self.trace + ".raw.tmp"
        self.prof.export_chrome_trace(tmp)
        _prepend_key(tmp, self.trace, "mpsfb_preflight", meta)


def cpu_name():
    """This machine's CPU, named as mps_benchmarks names it (the times in the trace are its)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        import subprocess

        return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown CPU"


def _prepend_key(raw, dest, key, value):
    """Writes `raw` (a JSON object) to `dest` with `key` first, streaming; all or nothing."""
    tmp = dest + ".tmp"
    try:
        with open(raw, "rb") as src, open(tmp, "wb") as out:
            head = src.read(1 << 16)
            brace = head.find(b"{")
            if brace < 0:
                raise RuntimeError("%s: the profiler wrote no JSON object" % raw)
            out.write(b"{\n  " + json.dumps(key).encode() + b": " + json.dumps(value).encode() + b",")
            out.write(head[brace + 1:])
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
        os.replace(tmp, dest)
    finally:
        for p in (raw, tmp):
            if os.path.exists(p):
                os.remove(p)


# --- pytest plugin: -p mpsfb_preflight, trace path from MPSFB_PREFLIGHT_TRACE
_session = None


def pytest_configure(config):
    global _session
    trace = os.environ.get("MPSFB_PREFLIGHT_TRACE")
    if not trace or _session is not None:
        return
    _session = Recorder(trace, steps=int(os.environ.get("MPSFB_PREFLIGHT_STEPS", "0") or 0),
                        command=["pytest"] + list(config.invocation_params.args))
    _session.start()


try:
    import pytest

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(item):  # one record per test: a scope named after it
        if _session is None or _session.done or not _session.started:
            yield
            return
        with torch.profiler.record_function("pytest: " + item.nodeid):
            yield
        _session.step()
except ImportError:  # the runner imports this module without pytest
    pass


def pytest_unconfigure(config):
    if _session is not None:
        status = int(getattr(config, "_mpsfb_exitstatus", 0) or 0)
        _session.finish(status=status, complete=status == 0, why="" if status == 0 else "tests failed")


def pytest_sessionfinish(session, exitstatus):
    session.config._mpsfb_exitstatus = int(exitstatus)
