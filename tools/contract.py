"""The result contract as the Python tools see it: `mpsfb_report --list-contract` (or
`mps_benchmarks --list-contract`, the same dump), the JSON of benchmarks/contract/result.cpp's
counter and label tables and name segments, so that no list of counter names is restated here
(the way the sync reads `mps_benchmarks --list-verdicts`)."""
import json
import subprocess


class ContractError(Exception):
    """The binary could not be run or printed no contract: one line naming it."""


def load(binary):
    """{"case_counters": [{name, meaning, unit, basis, can_be_negative, noise_of, column}, ...],
    "workload_counters": [...], "label_keys": [...], "verdict_record": [...], "name_segments": [op,
    shape, dtype, device], "noisy_above": x}"""
    try:
        r = subprocess.run([binary, "--list-contract"], capture_output=True, text=True)
    except OSError as e:
        raise ContractError(f"{binary}: {e.strerror or e}")
    if r.returncode != 0:
        raise ContractError(f"{binary} --list-contract failed (exit {r.returncode}): {r.stderr.strip()[:200]}")
    try:
        contract = json.loads(r.stdout)
        names = [c["name"] for c in contract["case_counters"]]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ContractError(f"{binary} --list-contract printed no contract ({e})")
    if not names:
        raise ContractError(f"{binary} --list-contract lists no case counters")
    return contract


def case_counters(contract):
    return [c["name"] for c in contract["case_counters"]]


def noise_counters(contract):
    return [c["name"] for c in contract["case_counters"] if c["noise_of"]]
