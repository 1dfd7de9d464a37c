"""Runs a Python program under the preflight recorder (mpsfb_preflight.Recorder); its exit status
is this process's. Started by tools/preflight.sh:

    python tools/preflight/run.py --trace=FILE [--steps=N] [--skip-steps=K] -- script.py ARGS...
    python tools/preflight/run.py --trace=FILE -- -m package.module ARGS...

A program that fails still leaves its trace, marked incomplete with its exit status.
"""

import os
import runpy
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mpsfb_preflight  # noqa: E402


def main(argv):
    trace, steps, skip = None, 0, 0
    while argv and argv[0] != "--":
        arg = argv.pop(0)
        key, _, value = arg.partition("=")
        if key == "--trace":
            trace = value
        elif key in ("--steps", "--skip-steps") and value.isdigit():
            steps, skip = (int(value), skip) if key == "--steps" else (steps, int(value))
        else:
            print("preflight: run.py: unknown or bad option %s" % arg, file=sys.stderr)
            return 2
    argv = argv[1:]
    if not trace or not argv:
        print("preflight: run.py: usage: run.py --trace=FILE [--steps=N] [--skip-steps=K] -- script.py|-m module ARGS",
              file=sys.stderr)
        return 2
    module = argv[0] == "-m"
    if module and len(argv) < 2:
        print("preflight: run.py: -m needs a module", file=sys.stderr)
        return 2
    target = argv[1] if module else argv[0]
    sys.argv = argv[1:] if module else argv
    if not module:
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
    else:
        sys.path.insert(0, os.getcwd())
    recorder = mpsfb_preflight.Recorder(trace, steps=steps, skip_steps=skip, command=argv)
    recorder.start()
    status = 0
    try:
        if module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if not isinstance(e.code, int) and e.code is not None:
            print(e.code, file=sys.stderr)
    except BaseException:  # the program's own failure: shown as Python would, status 1
        traceback.print_exc()
        status = 1
    finally:
        recorder.finish(status=status, complete=status == 0, why="" if status == 0 else "the program exited with status %d" % status)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
