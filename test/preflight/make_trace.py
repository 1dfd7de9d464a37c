"""Writes a torch.profiler-shaped Chrome trace of N aten events, for the reader's benchmark
(target preflight-bench): the layout and keys of torch 2.13's export_chrome_trace (one key per
line, as it writes them), the recorder's mpsfb_preflight key, a Python frame per step and, per
step, composites with their leaves, native ops, a float64 call and an op that falls back.

    python make_trace.py --events=1000000 --out=trace.json
"""

import argparse
import json
import os

# (name, input types, input dims, concrete inputs, duration µs, children): one step's ops.
STEP = [
    ("aten::linear", ["float", "float", "float"], [[64, 128], [256, 128], [256]], ["", "", ""], 40.0, [
        ("aten::t", ["float"], [[256, 128]], [""], 2.0, []),
        ("aten::addmm", ["float", "float", "float", "Scalar", "Scalar"], [[256], [64, 128], [128, 256], [], []],
         ["", "", "", "1", "1"], 30.0, []),
    ]),
    ("aten::relu", ["float"], [[64, 256]], [""], 5.0, []),
    ("aten::linalg_eigvals", ["float"], [[4, 10, 10]], [""], 60.0, [
        ("aten::_linalg_eigvals", ["float"], [[4, 10, 10]], [""], 55.0, [
            ("aten::empty.memory_format", ["ScalarList", "Scalar", "", "", "", ""], [[], [], [], [], [], []],
             ["[0]", "6", "", "", "", ""], 1.0, []),
        ]),
    ]),
    ("aten::add.Tensor", ["double", "double", "Scalar"], [[64, 256], [64, 256], []], ["", "", "1"], 6.0, []),
    ("aten::mul.Tensor", ["float", "float"], [[64, 256], [64, 256]], ["", ""], 5.0, []),
    ("aten::sum", ["float", ""], [[64, 256], []], ["", ""], 4.0, []),
]


def count(ops):
    return sum(1 + count(c) for *_, c in ops)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    per_step = count(STEP)
    steps = (a.events + per_step - 1) // per_step
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    meta = {"format": 1, "torch": "2.13.0+cpu", "cpu": "generated", "command": ["make_trace.py"], "complete": True,
            "exit_status": 0, "stopped": "", "steps_recorded": None, "recorded_s": None, "worker_processes": 0,
            "forks": 0, "pid": 1, "overload_names": True, "not_user_modules": ["torch"]}
    written = 0
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write('{\n  "mpsfb_preflight": %s,\n  "schemaVersion": 1,\n  "with_stack": 1,\n  "record_shapes": 1,\n'
                '  "traceEvents": [\n' % json.dumps(meta))
        first = True
        ts = 1000.0

        def event(cat, name, t, dur, args):
            nonlocal first
            f.write(("" if first else ",\n") + '  {\n    "ph": "X", "cat": "%s", "name": %s, "pid": 1, "tid": 1,\n'
                    '    "ts": %.3f, "dur": %.3f,\n    "args": {\n      %s\n    }\n  }'
                    % (cat, json.dumps(name), t, dur, args))
            first = False

        def op(spec, t):
            nonlocal written
            name, types, dims, concrete, dur, children = spec
            event("cpu_op", name, t, dur, '"External id": %d, "Record function id": 0, "Concrete Inputs": %s, '
                  '"Input type": %s, "Input Strides": [], "Input Dims": %s, "Ev Idx": %d'
                  % (written, json.dumps(concrete), json.dumps(types), json.dumps(dims), written))
            written += 1
            inner = t + 0.5
            for c in children:
                op(c, inner)
                inner += c[4] + 0.1

        for s in range(steps):
            span = sum(o[4] for o in STEP) + len(STEP)
            event("python_function", "train.py(%d): step" % (10 + s % 7), ts, span, '"Python id": %d' % s)
            t = ts + 0.5
            for spec in STEP:
                if written >= a.events:
                    break
                op(spec, t)
                t += spec[4] + 1
            ts += span + 1
        f.write("\n  ],\n  \"traceName\": %s\n}\n" % json.dumps(a.out))
    os.replace(tmp, a.out)
    print("make_trace: %d aten events in %d steps -> %s (%.0f MiB)" % (written, steps, a.out,
                                                                      os.path.getsize(a.out) / 2**20))


if __name__ == "__main__":
    main()
