// A stand-in for a PyTorch checkout's aten/src/ATen/mps/MPSFallback.mm (its shape, not its code):
// the always-fallback rows of the aten block are what the verdict reads.
static void mps_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack);

TORCH_LIBRARY_IMPL(_, MPS, m) {
  m.fallback(torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
}

TORCH_LIBRARY_IMPL(aten, MPS, m) {
  m.impl("embedding_renorm_", torch::CppFunction::makeFromBoxedFunction<&mps_fallback>());
}
