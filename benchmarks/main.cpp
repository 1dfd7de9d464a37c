// mps_benchmarks: see `mps_benchmarks --help` and README.md.
#include "suite.h"

int main(int argc, char** argv) { return mpsfb::run_main(argc, argv); }
