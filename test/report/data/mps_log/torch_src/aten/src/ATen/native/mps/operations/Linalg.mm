// A stand-in for an MPS source that registers a kernel outside native_functions.yaml.
TORCH_LIBRARY_IMPL(aten, MPS, m) {
  m.impl("linalg_eig", TORCH_FN(linalg_eig_mps));
}
