#!/usr/bin/env python3
"""Writes the MPS profiler logs mpsfb_report --mps-log is tested on (README.md beside it).

Each line the profiler prints is formatted here with the same format strings as PyTorch's
source, transcribed from fmt to str.format (same fill, alignment and rounding rules):

  aten/src/ATen/mps/MPSProfiler.mm (pytorch/pytorch@05b8ccb7)
    CpuFbInfo::toString      "CPU Fallback::{} (id={}, run={}, CopyOverhead={}{})"
    BaseInfo::toString       ", cpu={:.3f} ms" when the call's time is > 0 (printed at the end of
                             the call: bit 128 or 256); nothing when printed at its start
    logCPUFallbackProfilingStats
        "\n{:-^150}\n{:^5}|{:^7}|{:^14}|{:^15}|{:^15}| {}\n{:-^150}\n"  title, header, dashes
        " CPU Fallback Profiling: Total {} Runs, {:.2f} ms, {} Copies "   the title
        "{:^6}{:^8}{:^15}{:^16}{:^16} {}\n"                                 one row per op
        "There are no CPU Fallbacks logged for profiling\n"                 when none fell back
  aten/src/ATen/mps/MPSProfiler.h  BaseInfo::buildTensorString, OperationInfo::buildKernelString:
    the key is the op name, then ":" + device + ":" + dtype + sizes per tensor
  aten/src/ATen/mps/MPSFallback.mm (pytorch/pytorch@035290b7): the tensors are those among the
    arguments, then those among the last len(returns) stack entries (again the last arguments)
  sizes: c10::CachingAllocator::format_size (c10/core/Allocator.h of torch 2.13.0: KiB, MiB, GiB)
    or MPSAllocator.mm's own format_size of older torch (KB, MB, GB; pytorch/pytorch PR #76725)

The programs, shapes and times are made up; the formats are not. Run it from anywhere:
  python3 test/report/data/mps_log/make_logs.py
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def format_size(n, units):
    """The allocator's format_size: bytes up to 1 KiB, then 2 decimals of the next unit (1024-based)."""
    if n <= 1024:
        return f"{n} bytes"
    for i, unit in enumerate(units):
        if n <= 1024 ** (i + 2) or i == len(units) - 1:
            return f"{n / 1024.0 ** (i + 1):.2f} {unit}"


def size_c10(n):  # c10::CachingAllocator::format_size
    return format_size(n, ("KiB", "MiB", "GiB"))


def size_old(n):  # MPSAllocator.mm's own format_size (older torch)
    return format_size(n, ("KB", "MB", "GB"))


DTYPE_BYTES = {"Float": 4, "Long": 8, "Half": 2, "Int": 4}


class Tensor:
    def __init__(self, dtype, sizes, device="MPS"):
        self.dtype, self.sizes, self.device = dtype, sizes, device

    def nbytes(self):
        n = DTYPE_BYTES[self.dtype]
        for s in self.sizes:
            n *= s
        return n

    def __str__(self):  # BaseInfo::buildTensorString: DeviceTypeName + ':' + ScalarType + sizes
        return f"{self.device}:{self.dtype}[{', '.join(str(s) for s in self.sizes)}]"


class Op:
    """An op as mps_fallback sees it: the tensors it hands to beginProfileCPUFallback."""

    def __init__(self, name, tensor_args, counted_again, ms):
        # counted_again: the tensors among the last len(returns) stack entries, which at that
        # point are the last arguments (MPSFallback.mm), so they are counted a second time.
        self.name, self.tensors, self.ms = name, tensor_args + counted_again, ms

    def key(self):  # OperationInfo::buildKernelString
        return self.name + "".join(":" + str(t) for t in self.tensors)

    def copy(self):  # CpuFbInfo::updateCopyOverhead
        return sum(t.nbytes() for t in self.tensors)


class Profiler:
    def __init__(self, size_fmt, timed):
        self.size_fmt, self.timed = size_fmt, timed
        self.info = {}  # op name -> [id, runs, total ms, total copy]

    def call(self, op, ms):
        if op.name not in self.info:
            self.info[op.name] = [len(self.info) + 1, 0, 0.0, 0]
        i = self.info[op.name]
        i[1] += 1
        i[2] += ms
        i[3] += op.copy()
        time = f", cpu={ms:.3f} ms" if self.timed and ms > 0 else ""
        return f"CPU Fallback::{op.key()} (id={i[0]}, run={i[1]}, CopyOverhead={self.size_fmt(op.copy())}{time})\n"

    def table(self):
        if not self.info:
            return "There are no CPU Fallbacks logged for profiling\n"
        runs = sum(i[1] for i in self.info.values())
        total = sum(i[2] for i in self.info.values())
        copies = sum(i[3] for i in self.info.values())
        title = f" CPU Fallback Profiling: Total {runs} Runs, {total:.2f} ms, {self.size_fmt(copies)} Copies "
        out = "\n{:-^150}\n{:^5}|{:^7}|{:^14}|{:^15}|{:^15}| {}\n{:-^150}\n".format(
            title, "ID", "#Runs", "Mean CPU(ms)", "Total CPU(ms)", "Copy Overhead", "Operation Name", "")
        for name, (pid, n, ms, copy) in sorted(self.info.items(), key=lambda kv: -(kv[1][2] / kv[1][1])):
            out += "{:^6}{:^8}{:^15}{:^16}{:^16} {}\n".format(pid, n, f"{ms / n:.3f}", f"{ms:.3f}", self.size_fmt(copy), name)
        return out


WARN = ("/Users/me/asr/train.py:{line}: UserWarning: The operator '{op}' is not currently supported on the MPS "
        "backend and will fall back to run on the CPU. This may have performance implications. (Triggered "
        "internally at /Users/runner/work/pytorch/pytorch/pytorch/aten/src/ATen/mps/MPSFallback.mm:13.)\n"
        "  {code}\n")


def bar(epoch, step, steps):  # tqdm, written with '\r' and no newline until it closes
    done = int(10 * step / steps)
    return f"\repoch {epoch}: {100 * step // steps:3d}%|{'█' * done}{' ' * (10 - done)}| {step}/{steps} [00:0{step // 4}<00:0{(steps - step) // 4}, 3.{step}1it/s]"


def speech_ops():
    # nn.Embedding(1000, 64, max_norm=1.0) over [32, 50] ids: embedding_renorm_(self, indices, max_norm,
    # norm_type) -> Tensor: one return, the last argument is a float: nothing counted twice.
    renorm = Op("aten::embedding_renorm_", [Tensor("Float", [1000, 64]), Tensor("Long", [32, 50])], [], 0.35)
    # F.ctc_loss, log_probs [T=50, N=16, C=20]: _ctc_loss(..., int blank, bool zero_infinity) -> (Tensor, Tensor):
    # two returns, the last two arguments are an int and a bool.
    ctc = Op("aten::_ctc_loss", [Tensor("Float", [50, 16, 20]), Tensor("Long", [16, 30])], [], 1.2)
    ctc_bw = Op("aten::_ctc_loss_backward",
                [Tensor("Float", [16]), Tensor("Float", [50, 16, 20]), Tensor("Long", [16, 30]), Tensor("Float", [16]),
                 Tensor("Float", [16, 50, 61])], [], 2.1)
    # torch.linalg.eig(Tensor self) -> (Tensor, Tensor): two returns, one argument; last(stack, 2) then
    # starts one entry before the stack (MPSFallback.mm), and self is counted a second time.
    eig = Op("aten::linalg_eig", [Tensor("Float", [64, 64])], [Tensor("Float", [64, 64])], 3.4)
    return renorm, ctc, ctc_bw, eig


def training_run(prof, rng, epochs, steps, warn=True, killed_after=None):
    renorm, ctc, ctc_bw, eig = speech_ops()
    out = ["Using device: mps\n", "loaded 320 utterances, vocabulary 20\n"]
    calls = 0
    for epoch in range(1, epochs + 1):
        for step in range(steps):
            line = bar(epoch, step, steps)
            for op in (renorm, ctc, ctc_bw):
                ms = round(op.ms * rng.uniform(0.8, 1.3), 3)
                out.append(line + prof.call(op, ms))
                line = ""
                calls += 1
                if warn and calls == 1:
                    out.append(WARN.format(line=41, op=op.name, code="return torch.embedding_renorm_(weight, input, max_norm, norm_type)"))
                if killed_after and calls >= killed_after:
                    out.append(bar(epoch, step, steps))
                    return "".join(out)
        out.append(bar(epoch, steps, steps) + "\n")
        out.append(f"epoch {epoch}: loss {4.2 - 0.7 * epoch:.3f}\n")
        # evaluation: the eigenvalues of two 64x64 attention maps
        for _ in range(2):
            out.append(prof.call(eig, round(eig.ms * rng.uniform(0.9, 1.2), 3)))
    out.append("saved checkpoint to runs/asr.pt\n")
    return "".join(out)


def write(name, text):
    with open(os.path.join(HERE, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    # torch 2.13 (c10 format_size: KiB), PYTORCH_MPS_LOG_PROFILE_INFO=196 (4 | 64 | 128).
    prof = Profiler(size_c10, timed=True)
    write("torch-2.13.log", training_run(prof, random.Random(13), epochs=3, steps=10) + prof.table())

    # Older torch (MPSAllocator.mm's own format_size: KB), PYTORCH_MPS_LOG_PROFILE_INFO=68 (4 | 64):
    # per-call lines printed when each call starts, without a time. The model looks up stop tokens
    # with torch.isin (isin.Tensor_Tensor(elements, test_elements, *, bool assume_unique, bool invert):
    # one return, the last argument a bool).
    prof = Profiler(size_old, timed=False)
    isin = Op("aten::isin", [Tensor("Long", [1, 128]), Tensor("Long", [2])], [], 0.2)
    renorm, ctc, _, eig = speech_ops()
    rng = random.Random(3)
    out = []
    for step in range(24):
        out.append((f"\rgenerating: {step}/24 tokens" if step % 6 == 0 else "") + prof.call(isin, 0))
        prof.info["aten::isin"][2] += round(isin.ms * rng.uniform(0.9, 1.4), 3)  # the time the table sums
        if step == 0:
            out.append(WARN.format(line=88, op="aten::isin", code="done = torch.isin(next_tokens, stop_ids)"))
    for _ in range(4):
        out.append(prof.call(eig, 0))
        prof.info["aten::linalg_eig"][2] += round(eig.ms * rng.uniform(0.9, 1.2), 3)
    out.append("generated 24 tokens\n")
    write("older-kb.log", "".join(out) + prof.table())

    # torch 2.13, 196, killed (out of memory, SIGKILL) before it could print the exit table.
    prof = Profiler(size_c10, timed=True)
    write("killed.log", training_run(prof, random.Random(7), epochs=1, steps=10, killed_after=14))

    # torch 2.13, 196: the program starts a worker process that also uses MPS; each prints its table.
    main_prof, worker_prof = Profiler(size_c10, True), Profiler(size_c10, True)
    rng = random.Random(11)
    renorm, ctc, ctc_bw, eig = speech_ops()
    out = ["main: starting the feature worker\n"]
    for i in range(3):
        out.append(worker_prof.call(eig, round(eig.ms * rng.uniform(0.9, 1.1), 3)))
        out.append(main_prof.call(renorm, round(renorm.ms * rng.uniform(0.9, 1.1), 3)))
        out.append(main_prof.call(ctc, round(ctc.ms * rng.uniform(0.9, 1.1), 3)))
    out.append("worker: done\n")
    out.append(worker_prof.table())
    out.append(main_prof.call(ctc, round(ctc.ms * 1.05, 3)))
    out.append("main: done\n")
    out.append(main_prof.table())
    write("two-processes.log", "".join(out))

    # A run on MPS whose ops all have kernels: the profiler's table says so.
    write("no-fallbacks.log", "Using device: mps\n" + "".join(bar(1, s, 4) for s in range(5)) + "\n" +
          "epoch 1: loss 1.204\n" + Profiler(size_c10, True).table())

    # What this project's CPU-only machine sees: no MPS, so no profiler line at all.
    write("cpu-only.log", "Using device: cpu\nepoch 1: loss 1.204\n")

    # Bad logs: each is a good log with one defect.
    good = open(os.path.join(HERE, "torch-2.13.log"), encoding="utf-8").read().split("\n")
    bad = list(good)
    i = next(n for n, l in enumerate(bad) if "CPU Fallback::aten::_ctc_loss_backward" in l)
    bad[i] = bad[i].replace("run=", "run=#")
    write("bad/call.log", "\n".join(bad))
    bad = list(good)
    i = next(n for n, l in enumerate(bad) if "aten::_ctc_loss" in l and l.strip().split()[0].isdigit())
    write("bad/cut-table.log", "\n".join(bad[:i]) + "\n")
    bad = list(good)
    i = next(n for n, l in enumerate(bad) if "Operation Name" in l)
    bad[i] = bad[i].replace("Copy Overhead", "Copies")
    write("bad/header.log", "\n".join(bad))


if __name__ == "__main__":
    main()
