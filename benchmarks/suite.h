// Assembling the suite: targets -> validated cases -> Google Benchmark registrations, and
// the run's context. main() only calls run_main().
#pragma once

#include "op_fixture.h"
#include "targets.h"

#include <deque>
#include <string>

namespace mpsfb {

// Checks an entry against the dispatcher (op and overload exist) and the fixture registry.
OpChecker make_op_checker();

// Registers one benchmark per op x shape x dtype; `cases` must outlive the run.
// Returns the number registered.
size_t register_cases(const Targets& targets, const RunContext& ctx, std::deque<Case>& cases);

// Parses flags, selects the device, loads the targets, registers and runs the benchmarks.
// Every error is caught here: a message and exit code 2, before any benchmark runs.
int run_main(int argc, char** argv);

}  // namespace mpsfb
