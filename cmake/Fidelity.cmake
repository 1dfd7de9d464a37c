# `fidelity`: time the same ops with mps_benchmarks and torch.utils.benchmark.Timer
# (tools/harness_fidelity.py: traits and YAML-only ops, CPU and the device's native kernel).
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "Target 'fidelity' disabled: no Python interpreter")
  return()
endif()
mpsfb_python_has("torch.utils.benchmark" _mpsfb_fidelity_torch)
if(NOT _mpsfb_fidelity_torch)
  message(STATUS "Target 'fidelity' disabled: torch not found in '${Python3_EXECUTABLE}' "
    "(Timer is the reference; configure with -DPython3_EXECUTABLE=.venv/bin/python)")
  return()
endif()
set(MPSFB_FIDELITY_OUT "${PROJECT_BINARY_DIR}/fidelity.md" CACHE FILEPATH "Where the 'fidelity' target writes its table")
add_custom_target(fidelity
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/tools/harness_fidelity.py
          --binary $<TARGET_FILE:mps_benchmarks> --out ${MPSFB_FIDELITY_OUT}
  DEPENDS mps_benchmarks
  USES_TERMINAL
  COMMENT "mps_benchmarks vs torch.utils.benchmark.Timer -> ${MPSFB_FIDELITY_OUT}")
