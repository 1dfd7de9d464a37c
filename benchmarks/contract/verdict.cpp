#include "verdict.h"

#include "contract/yaml_text.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mpsfb::verdicts {
namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// "static: pytorch source tree ..." -> "pytorch source tree ...", to nest one source in another.
std::string without_static_prefix(const std::string& source) {
  const std::string prefix = verdict::kStaticSource;
  return source.rfind(prefix, 0) == 0 ? source.substr(prefix.size()) : source;
}

std::string strip_namespace(const std::string& op) {
  const size_t at = op.find("::");
  return at == std::string::npos ? op : op.substr(at + 2);
}

// "isin.Tensor_Tensor" -> {"isin", "Tensor_Tensor"}
std::pair<std::string, std::string> split_overload(const std::string& name) {
  const size_t dot = name.find('.');
  if (dot == std::string::npos) return {name, ""};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

bool is_composite_key(const std::string& key) { return key.rfind("Composite", 0) == 0; }

// Rows of MPSFallback.mm's TORCH_LIBRARY_IMPL(aten, MPS, m): the ops registered with the fallback
// as their MPS kernel, per torch minor version range [from, to). Reference: mps-fallback-facts.md §3.
struct AlwaysRow {
  std::pair<int, int> from, to;
  std::vector<std::string> ops;
  const char* source;
};
const AlwaysRow kAlways[] = {
    {{2, 6},
     {2, 8},
     {"embedding_renorm_", "linalg_svd", "linalg_svd.U", "col2im", "upsample_nearest3d.vec"},
     "MPSFallback.mm of torch 2.6.0"},
    // upsample_nearest3d.vec left with pytorch/pytorch#156090 (Jun 2025: 2.8, inferred from the date).
    {{2, 8},
     {2, 14},
     {"embedding_renorm_", "linalg_svd", "linalg_svd.U", "col2im"},
     "MPSFallback.mm of torch 2.8-2.13 (2.6.0's list less upsample_nearest3d.vec, pytorch/pytorch#156090; "
     "releases inferred from PR dates)"},
    // linalg_svd went native with pytorch/pytorch#185954 (Jun 2026); main keeps embedding_renorm_ only.
    {{2, 14}, {99, 0}, {"embedding_renorm_"}, "MPSFallback.mm of pytorch main (2026)"},
};

}  // namespace

NativeFunctions parse_native_functions(const std::string& text, const std::string& path) {
  const YAML::Node doc = parse_yaml(text, path);
  if (!doc.IsSequence())
    throw std::runtime_error(path + ": not a native_functions.yaml (expected: a list of '- func:' entries)");
  NativeFunctions nf;
  nf.path = path;
  for (const auto& item : doc) {
    const int line = item.Mark().line + 1;
    if (!item.IsMap() || !item["func"] || !item["func"].IsScalar())
      throw std::runtime_error(path + ":" + std::to_string(line) + ": entry without a 'func:' schema");
    const std::string func = item["func"].as<std::string>();
    const std::string name = trim(func.substr(0, func.find('(')));
    Entry e;
    e.line = line;
    if (const auto d = item["structured_delegate"]; d && d.IsScalar()) e.structured_delegate = d.as<std::string>();
    if (const auto d = item["dispatch"]; d && d.IsMap()) {
      for (const auto& kv : d) {
        std::stringstream keys(kv.first.as<std::string>());
        for (std::string k; std::getline(keys, k, ',');)
          if (!trim(k).empty()) e.dispatch_keys.push_back(trim(k));
      }
    }
    nf.entries[name] = std::move(e);
  }
  if (nf.entries.empty()) throw std::runtime_error(path + ": no '- func:' entries (expected: native_functions.yaml)");
  return nf;
}

NativeFunctions load_native_functions(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw std::runtime_error(path + ": " + (std::filesystem::exists(path, ec) ? "not a regular file" : "no such file"));
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error(path + ": cannot be read");
  return parse_native_functions(text.str(), path);
}

std::optional<std::pair<int, int>> parse_torch_version(const std::string& version) {
  int major = 0, minor = 0;
  char dot = 0;
  std::istringstream s(version);
  if (!(s >> major >> dot >> minor) || dot != '.') return std::nullopt;
  return std::make_pair(major, minor);
}

std::vector<std::string> always_fallback_ops(const std::string& torch_version, std::string* source) {
  const auto v = parse_torch_version(torch_version);
  if (v)
    for (const auto& row : kAlways)
      if (*v >= row.from && *v < row.to) {
        if (source) *source = row.source;
        return row.ops;
      }
  return {};
}

std::optional<std::string> native_outside_yaml(const std::string& op) {
  // torchvision registers MPS kernels for these (torchvision/csrc/ops/mps/, since 0.16;
  // deform_conv2d's forward since 0.23, pytorch/vision#9017, its backward not yet).
  static const std::map<std::string, std::string> kOps = {
      {"torchvision::deform_conv2d",
       "torchvision/csrc/ops/mps/deform_conv2d_kernel.mm (torchvision >= 0.23, pytorch/vision#9017)"},
      {"torchvision::nms", "torchvision/csrc/ops/mps/nms_kernel.mm"},
      {"torchvision::roi_align", "torchvision/csrc/ops/mps/roi_align_kernel.mm"},
      {"torchvision::roi_pool", "torchvision/csrc/ops/mps/roi_pool_kernel.mm"},
      {"torchvision::ps_roi_align", "torchvision/csrc/ops/mps/ps_roi_align_kernel.mm"},
      {"torchvision::ps_roi_pool", "torchvision/csrc/ops/mps/ps_roi_pool_kernel.mm"},
  };
  const auto it = kOps.find(split_overload(op).first);
  if (it == kOps.end()) return std::nullopt;
  return it->second;
}

std::string mps_unsupported_dtype_reason(const std::string& dtype) {
  if (dtype == "f64") return "MPS has no float64";
  if (dtype == "c128") return "MPS has no complex128";
  return {};
}

Book::Book(std::optional<NativeFunctions> nf, std::string torch_version, std::string why_none)
    : nf_(std::move(nf)), torch_(std::move(torch_version)), why_none_(std::move(why_none)) {
  for (auto& op : always_fallback_ops(torch_, &always_source_)) always_.insert(op);
}

std::string Book::yaml_source() const {
  return origin_.described.empty() ? std::string(verdict::kStaticSource) + "native_functions.yaml of torch " + torch_ : origin_.described;
}

void Book::set_tree(TreeFacts facts) {
  always_ = std::set<std::string>(facts.always.begin(), facts.always.end());
  always_source_ = std::move(facts.always_source);
  registered_ = std::move(facts.registered);
}

const Entry* Book::find(const std::string& op) const {
  if (!nf_) return nullptr;
  const auto it = nf_->entries.find(strip_namespace(op));
  return it == nf_->entries.end() ? nullptr : &it->second;
}

bool Book::has_mps(const std::string& op, int depth) const {
  const Entry* e = find(op);
  if (!e || depth > 2) return false;
  for (const auto& k : e->dispatch_keys)
    if (k == "MPS") return true;
  if (!e->structured_delegate.empty() && has_mps(e->structured_delegate, depth + 1)) return true;
  // The out= variant: "name.out" for the default overload, "name.<overload>_out" otherwise.
  if (depth == 0) {
    const auto [name, overload] = split_overload(strip_namespace(op));
    if (overload.size() < 4 || overload.substr(overload.size() - 4) != "_out") {
      if (has_mps(name + "." + (overload.empty() ? "out" : overload + "_out"), depth + 1)) return true;
    }
  }
  return false;
}

Static Book::classify(const std::string& op, std::string* why) const {
  auto say = [&](Static s, std::string w) {
    if (why) *why = std::move(w);
    return s;
  };
  // A native kernel replaces the registration when it lands (col2im in 2.13), so the yaml wins.
  if (always_.count(strip_namespace(op)) && !has_mps(op))
    return say(Static::kFallsBack, std::string(verdict::kStaticSource) + "always falls back, registered in " + always_source_);
  if (const auto src = native_outside_yaml(op)) return say(Static::kNative, std::string(verdict::kStaticSource) + "MPS kernel in " + *src);
  if (const auto it = registered_.find(strip_namespace(op)); it != registered_.end())
    return say(Static::kNative, std::string(verdict::kStaticSource) + "MPS kernel registered in " + it->second + " (" +
                                    without_static_prefix(yaml_source()) + ")");
  // MPSFallback.mm gives it an MPS kernel that only raises: a direct call errors, it never falls back
  // (MPS convolutions run _mps_convolution). Reference: mps-fallback-facts.md §3.
  if (strip_namespace(op) == "_slow_conv2d_forward")
    return say(Static::kUnknown,
               std::string(verdict::kStaticSource) + "MPSFallback.mm registers an MPS kernel that raises for it (an error, not a fallback)");
  if (!nf_) return say(Static::kUnknown, why_none_);
  const Entry* e = find(op);
  if (!e) return say(Static::kUnknown, std::string(verdict::kStaticSource) + "" + op + " is not in native_functions.yaml of torch " + torch_);
  if (has_mps(op)) return say(Static::kNative, yaml_source());
  // A structured op runs its delegate's kernels; a Composite* key runs for MPS too (its leaves
  // decide); backend kernels without MPS (CPU, CUDA, SparseCPU, ...) leave MPS the fallback.
  if (!e->structured_delegate.empty()) return say(Static::kFallsBack, yaml_source());
  bool composite = e->dispatch_keys.empty();
  for (const auto& k : e->dispatch_keys) composite = composite || is_composite_key(k);
  if (!composite) return say(Static::kFallsBack, yaml_source());
  return say(Static::kComposite, yaml_source() + " (composite: its leaves decide)");
}

void Book::leaves(const std::string& op, const CallGraph& calls, int depth, std::set<std::string>& falling,
                  std::set<std::string>& native) const {
  const auto it = calls.find(op);
  // A composite kernel is registered for MPS too: one that calls no other op runs as it is.
  if (it == calls.end() || depth > 8) {
    native.insert(op);
    return;
  }
  for (const auto& child : it->second) {
    switch (classify(child)) {
      case Static::kNative:
        native.insert(child);
        break;
      case Static::kFallsBack:
        falling.insert(child);
        break;
      case Static::kComposite:
        leaves(child, calls, depth + 1, falling, native);
        break;
      case Static::kUnknown:  // not an aten op (a profiler scope, another library): not a kernel
        break;
    }
  }
}

Verdict Book::made(const char* token, std::vector<std::string> via, std::string source) const {
  Verdict v;
  v.verdict = token;
  v.via = std::move(via);
  v.source = std::move(source);
  v.torch = torch_;
  v.id = origin_.id;
  return v;
}

Verdict Book::judge(const std::string& op, const std::string& dtype, const CallGraph* calls) const {
  if (const auto reason = mps_unsupported_dtype_reason(dtype); !reason.empty())
    return made(verdict::kUnsupportedDtype, {}, std::string(verdict::kStaticSource) + "dtype " + dtype + " (" + reason + ")");
  std::string why;
  switch (classify(op, &why)) {
    case Static::kNative:
      return made(verdict::kNative, {}, why);
    case Static::kFallsBack:
      return made(verdict::kFallsBack, {op}, why);
    case Static::kUnknown:
      return made(verdict::kUnknown, {}, why);
    case Static::kComposite:
      break;
  }
  if (!calls) return made(verdict::kUnknown, {}, why + "; its leaves were not observed");
  std::set<std::string> falling, native;
  leaves(op, *calls, 0, falling, native);
  // The leaves come from the linked torch's CPU call: for another torch's verdict, say so.
  const std::string judged =
      yaml_source() + (origin_.linked_torch.empty() || origin_.kind == "linked"
                           ? " (composite, judged leaf by leaf as observed in a CPU call)"
                           : " (composite judged by the leaves torch " + origin_.linked_torch + " (linked) runs)");
  if (!falling.empty()) return made(verdict::kFallsBack, {falling.begin(), falling.end()}, judged);
  return made(verdict::kNative, {native.begin(), native.end()}, judged);
}

std::string find_native_functions(const std::string& torch_lib_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // site-packages/torch/lib -> site-packages/torchgen/packaged/ATen/native/native_functions.yaml
  const fs::path site = fs::path(torch_lib_dir).parent_path().parent_path();
  const fs::path yaml = site / "torchgen" / "packaged" / "ATen" / "native" / "native_functions.yaml";
  return fs::is_regular_file(yaml, ec) ? yaml.string() : std::string();
}

}  // namespace mpsfb::verdicts
