#include "fallback.h"

#include <ATen/native/CPUFallback.h>
#include <ATen/record_function.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <regex>

namespace mpsfb {
namespace {

std::atomic<FallbackObserver*> g_observer{nullptr};
// Ops entered on this thread, innermost last.
thread_local std::vector<std::string> t_scope;

std::string op_name(const at::RecordFunction& fn) {
  if (auto name = fn.operator_name()) {
    return name->overload_name.empty() ? name->name : name->name + "." + name->overload_name;
  }
  return fn.name();
}

std::unique_ptr<at::ObserverContext> on_op_start(const at::RecordFunction& fn) {
  std::string name = op_name(fn);
  if (name == "aten::_to_cpu") {
    if (auto* obs = g_observer.load())
      obs->record(t_scope.empty() ? std::string("<outside any op>") : t_scope.back());
  }
  t_scope.push_back(std::move(name));
  return nullptr;
}

void on_op_end(const at::RecordFunction&, at::ObserverContext*) {
  if (!t_scope.empty()) t_scope.pop_back();
}

// Filters the kernel-override warning that EmulationScope triggers on purpose.
class OverrideWarningFilter : public c10::WarningHandler {
 public:
  explicit OverrideWarningFilter(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::Warning& w) override {
    if (w.msg().find("Overriding a previously registered kernel") != std::string::npos) return;
    next_->process(w);
  }

 private:
  c10::WarningHandler* next_;
};

void emulated_fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
  at::native::cpu_fallback(op, stack);
}

at::Tensor copy_from_and_resize(const at::Tensor& self, const at::Tensor& dst) {
  if (dst.sizes() != self.sizes()) dst.resize_(self.sizes());
  dst.copy_(self);
  return dst;
}

}  // namespace

std::string op_from_fallback_warning(const std::string& message) {
  static const std::regex kWarn(R"(The operator '([^']+)' is not currently supported on the MPS backend and will fall back)");
  std::smatch m;
  return std::regex_search(message, m, kWarn) ? m[1].str() : std::string();
}

struct FallbackObserver::WarningCapture : c10::WarningHandler {
  explicit WarningCapture(FallbackObserver* o)
      : owner(o), prev(c10::WarningUtils::get_warning_handler()), always(true), guard(this) {}
  void process(const c10::Warning& w) override {
    const auto op = op_from_fallback_warning(w.msg());
    if (op.empty())
      prev->process(w);
    else
      owner->record(op);
  }
  FallbackObserver* owner;
  c10::WarningHandler* prev;
  c10::WarningUtils::WarnAlways always;
  c10::WarningUtils::WarningHandlerGuard guard;
};

FallbackObserver::FallbackObserver() {
  FallbackObserver* expected = nullptr;
  TORCH_CHECK(g_observer.compare_exchange_strong(expected, this), "only one FallbackObserver may be active");
  t_scope.clear();
  handle_ = at::addThreadLocalCallback(
      at::RecordFunctionCallback(&on_op_start, &on_op_end).scopes({at::RecordScope::FUNCTION}));
  warnings_ = std::make_unique<WarningCapture>(this);
}

FallbackObserver::~FallbackObserver() {
  warnings_.reset();
  at::removeCallback(handle_);
  t_scope.clear();
  g_observer.store(nullptr);
}

void FallbackObserver::record(const std::string& op) {
  std::lock_guard<std::mutex> lock(mu_);
  ops_.insert(op);
}

std::vector<std::string> FallbackObserver::fallback_ops() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {ops_.begin(), ops_.end()};
}

EmulationScope::EmulationScope(const std::vector<std::string>& ops, c10::DispatchKey key) {
  OverrideWarningFilter filter(c10::WarningUtils::get_warning_handler());
  c10::WarningUtils::WarningHandlerGuard guard(&filter);
  for (const auto& op : ops) {
    const size_t sep = op.find("::");
    TORCH_CHECK(sep != std::string::npos, "emulate: '", op, "' has no namespace");
    auto lib = std::make_unique<torch::Library>(torch::Library::IMPL, op.substr(0, sep), key, __FILE__, __LINE__);
    lib->impl(op.substr(sep + 2).c_str(), torch::CppFunction::makeFromBoxedFunction<&emulated_fallback>());
    libs_.push_back(std::move(lib));
  }
}

EmulationScope::~EmulationScope() = default;

void ensure_copy_from_and_resize(c10::DispatchKey key) {
  static std::mutex mu;
  static std::vector<std::unique_ptr<torch::Library>> libs;  // live until exit
  std::lock_guard<std::mutex> lock(mu);
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("aten::_copy_from_and_resize", "");
  if (op.hasKernelForDispatchKey(key)) return;
  auto lib = std::make_unique<torch::Library>(torch::Library::IMPL, "aten", key, __FILE__, __LINE__);
  lib->impl("_copy_from_and_resize", TORCH_FN(copy_from_and_resize));
  libs.push_back(std::move(lib));
}

const char* to_string(DispatchEntry e) {
  switch (e) {
    case DispatchEntry::kMissing: return "missing";
    case DispatchEntry::kBackendFallback: return "backend fallback";
    case DispatchEntry::kFallbackKernel: return "MPSFallback.mm kernel";
    case DispatchEntry::kKernel: return "native kernel";
    case DispatchEntry::kComposite: return "composite";
  }
  return "?";
}

DispatchEntry classify_table_line(const std::string& line) {
  if (line.find("[backend fallback]") != std::string::npos) return DispatchEntry::kBackendFallback;
  if (line.find("[math kernel]") != std::string::npos || line.find("[default backend kernel]") != std::string::npos)
    return DispatchEntry::kComposite;
  if (line.find("[kernel]") != std::string::npos) {
    // Kernels that MPSFallback.mm registers always fall back. _slow_conv2d_forward's entry
    // there only raises a better error (reference: mps-fallback-facts.md §3).
    if (line.find("MPSFallback.mm") != std::string::npos) return DispatchEntry::kFallbackKernel;
    return DispatchEntry::kKernel;
  }
  return DispatchEntry::kMissing;
}

DispatchEntry classify(const c10::OperatorHandle& op, c10::DispatchKey key) {
  const std::string prefix = std::string(c10::toString(key)) + ": ";
  const std::string table = op.dumpComputedTable();
  size_t pos = 0;
  while (pos < table.size()) {
    size_t end = table.find('\n', pos);
    if (end == std::string::npos) end = table.size();
    if (table.compare(pos, prefix.size(), prefix) == 0) {
      const auto entry = classify_table_line(table.substr(pos, end - pos));
      const bool slow_conv = op.schema().name() == "aten::_slow_conv2d_forward";
      return entry == DispatchEntry::kFallbackKernel && slow_conv ? DispatchEntry::kKernel : entry;
    }
    pos = end + 1;
  }
  return DispatchEntry::kMissing;
}

bool has_mps_backend() {
  return c10::Dispatcher::singleton().hasBackendFallbackForDispatchKey(c10::DispatchKey::MPS);
}

}  // namespace mpsfb
