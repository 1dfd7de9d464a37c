"""The result contract as the Python tools see it: `mpsfb_report --list-contract`, the JSON dump of
benchmarks/contract/result.cpp's counter and label tables, so that no list of counter names is
restated here (the way the sync reads `mps_benchmarks --list-verdicts`)."""
import json
import subprocess


class ContractError(Exception):
    """The binary could not be run or printed no contract: one line naming it."""


def load(report_bin):
    """{"case_counters": [{name, meaning, unit, basis, can_be_negative, noise_of, column}, ...],
    "workload_counters": [...], "label_keys": [...], "verdict_record": [...], "name_segments": [op,
    shape, dtype, device], "noisy_above": x}"""
    try:
        r = subprocess.run([report_bin, "--list-contract"], capture_output=True, text=True)
    except OSError as e:
        raise ContractError(f"{report_bin}: {e.strerror or e}")
    if r.returncode != 0:
        raise ContractError(f"{report_bin} --list-contract failed (exit {r.returncode}): {r.stderr.strip()[:200]}")
    try:
        contract = json.loads(r.stdout)
        names = [c["name"] for c in contract["case_counters"]]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ContractError(f"{report_bin} --list-contract printed no contract ({e})")
    if not names:
        raise ContractError(f"{report_bin} --list-contract lists no case counters")
    return contract


def case_counters(contract):
    return [c["name"] for c in contract["case_counters"]]


def noise_counters(contract):
    return [c["name"] for c in contract["case_counters"] if c["noise_of"]]
