"""The targets.yaml schema as the sync writes and checks it (docs/targets-format.md).

The one Python copy of what the C++ decoder (benchmarks/targets.cpp) accepts: the seed loader,
the output self-check and the tests all read it from here, and the ctest
`sync_targets_mps_benchmarks` (test/python/test_sync_mps_benchmarks.py) compares it with the
keys and dtype names mps_benchmarks itself lists, and loads the sync's output with it.
"""

# Keys docs/targets-format.md allows; anything else is an error for the C++ loader.
TOP_KEYS = ("version", "generated", "ops")
ENTRY_KEYS = ("op", "shapes", "dtypes", "args", "emulate", "check", "tol_scale", "needs_fixture",
              "requires", "note", "demand", "mps_verdict")
DEMAND_KEYS = ("votes", "users", "thumbs_up", "first_request", "last_request", "issues",
               "links", "use_cases")
# mps_verdict: informational (the harness recomputes it), written from
# `mps_benchmarks --list-verdicts`.
VERDICT_KEYS = ("torch", "verdict", "via", "source")
# The entry keys whose value is a mapping with keys of its own.
ENTRY_MAPS = {"demand": DEMAND_KEYS, "mps_verdict": VERDICT_KEYS}

# The short dtype names of targets-format.md, in the table's order.
DTYPES = ("f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool", "c64", "c128")

# The verdict tokens of `mps_benchmarks --list-verdicts` (benchmarks/contract/verdict.h), in
# the order ops/targets.yaml lists its sections.
FALLS_BACK = "falls back"
NATIVE = "native"
UNSUPPORTED_DTYPE = "unsupported dtype"
UNKNOWN = "unknown"
VERDICTS = (FALLS_BACK, NATIVE, UNSUPPORTED_DTYPE, UNKNOWN)

# What the C++ decoder (benchmarks/targets.cpp) refuses, which the sync must not write from a
# comment: one public comment would otherwise make mps_benchmarks reject the whole file. Typed
# here because the decoder does not list them; the ctest `sync_targets_mps_benchmarks`
# (test_decoder_limits_are_the_syncs) feeds the decoder each limit and the value past it, and
# reads the number back from its message, so neither side can change alone.
MAX_OP_NAME = 256                  # characters of an `op:` (kMaxOpName)
MAX_SHAPE_DIMS = 64                # dimensions of a shape (kMaxShapeDims)
MEMORY_BUDGET_MB = 4096            # a case's input tensor, at mps_benchmarks' default
#                                    --memory_budget_mb
MAX_COUNT = 2**63 - 1              # demand.votes, users, thumbs_up: int64
# Bytes per element of each dtype (c10::elementSize), in DTYPES order.
DTYPE_BYTES = dict(zip(DTYPES, (4, 2, 2, 8, 8, 4, 2, 1, 1, 1, 8, 16)))
