# `fidelity`: time the same ops with mps_benchmarks and torch.utils.benchmark.Timer.
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "Target 'fidelity' disabled: no Python interpreter")
  return()
endif()
add_custom_target(fidelity
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/harness_fidelity.py
          --binary $<TARGET_FILE:mps_benchmarks>
  DEPENDS mps_benchmarks
  USES_TERMINAL
  COMMENT "mps_benchmarks vs torch.utils.benchmark.Timer")
