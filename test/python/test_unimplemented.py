"""tools/coverage/unimplemented.py: the keys of UNIMPLEMENTED_XFAILLIST whose value is None, read by
Python's own parser from a common_mps.py (the coverage history's edge, docs/coverage.md)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "coverage"))
from unimplemented import unimplemented  # noqa: E402

SOURCE = '''
class MPSSkipInfo:
    def __init__(self):
        UNIMPLEMENTED_XFAILLIST: dict[str, list | None] = {
            # a comment
            "linalg.eig": None,
            "median": [torch.bool],
            "mode": None,
        }
        if MACOS_VERSION < 14.0:
            UNIMPLEMENTED_XFAILLIST.update({"fft.fft": None})
        UNDEFINED_XFAILLIST = {"put": None}
'''


def test_only_none_values_of_the_dict_literal():
    assert unimplemented(SOURCE, "common_mps.py") == ["linalg.eig", "mode"]


def test_plain_assignment_of_older_releases():
    assert unimplemented('UNIMPLEMENTED_XFAILLIST = {"cauchy": None}\n', "x.py") == ["cauchy"]


def run(tmp_path, text):
    f = tmp_path / "common_mps.py"
    f.write_text(text)
    return subprocess.run([sys.executable, str(ROOT / "tools" / "coverage" / "unimplemented.py"), str(f)],
                          capture_output=True, text=True)


def test_cli_prints_one_key_a_line(tmp_path):
    proc = run(tmp_path, SOURCE)
    assert proc.returncode == 0 and proc.stdout == "linalg.eig\nmode\n"


def test_no_list_is_one_line_and_exit_1(tmp_path):
    proc = run(tmp_path, "X = {}\n")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().endswith("common_mps.py: no UNIMPLEMENTED_XFAILLIST = {...} assignment")


def test_not_python_names_the_line(tmp_path):
    proc = run(tmp_path, "x = 1\nUNIMPLEMENTED_XFAILLIST = {\n")
    assert proc.returncode == 1 and "common_mps.py:2: not Python" in proc.stderr
