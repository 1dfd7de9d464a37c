#include "result.h"

#include <nlohmann/json.hpp>


namespace mpsfb {

namespace {

// "a=1; b=2" -> {a: 1}, {b: 2}: items split at `item_sep`, each at its first `kv_sep`; an item
// without it is a key with an empty value; empty items are skipped.
std::vector<std::pair<std::string, std::string>> split_pairs(const std::string& text, const std::string& item_sep,
                                                             char kv_sep) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(item_sep, start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    if (!item.empty()) {
      const size_t at = item.find(kv_sep);
      if (at == std::string::npos)
        out.emplace_back(item, "");
      else
        out.emplace_back(item.substr(0, at), item.substr(at + 1));
    }
    start = end + item_sep.size();
  }
  return out;
}

}  // namespace

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

namespace name {

Segments split(const std::string& name) { return split_pairs(name, "/", ':'); }

std::string join(const Segments& segments) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : segments) parts.push_back(key + ":" + value);
  return mpsfb::join(parts, "/");
}

bool is_op_case(const std::string& name) {
  const Segments s = split(name);
  return !s.empty() && s.front().first == kOp;
}

}  // namespace name

namespace counters {

const std::vector<Counter>& case_rows() {
  static const std::vector<Counter> kRows = {
      {kCpuUs, "op on CPU tensors", "us", nullptr, false, nullptr, Column::kMeasured},
      {kDevUs, "op on device tensors, through the fallback if it falls back", "us", kDevUs, false, nullptr,
       Column::kMeasured},
      {kNativeUs, "the device's native kernel (emulated cases only)", "us", kNativeUs, false, nullptr,
       Column::kMeasured},
      {kPenalty, "dev_us / cpu_us", "x", kDevUs, false, nullptr, Column::kMeasured},
      {kOverheadUs, "dev - cpu: median of the paired per-iteration differences", "us", kDevUs, true, nullptr,
       Column::kMeasured},
      {kFloorUs, "sum over the tensors the fallback moves (latency + bytes / bandwidth, each way) + one empty sync",
       "us", kFloorUs, false, nullptr, Column::kMeasured},
      {kCopyEfficiency, "floor_us / overhead_us (1 = copies explain it all)", "x", kCopyEfficiency, false, nullptr,
       Column::kMeasured},
      {kFallback, "1 if any op in the call ran through the CPU fallback", "0/1", nullptr, false, nullptr,
       Column::kMeasured},
      {kBytes, "bytes of tensor inputs + outputs of one call", "bytes", nullptr, false, nullptr, Column::kLast},
      // Noise: the relative half-width of a distribution-free 95% confidence interval of the
      // median (order statistics), (x(s) - x(r)) / (2 x median): how far the median could move.
      {kCpuNoise, "relative half-width of the 95% confidence interval of cpu_us", "fraction", kCpuUs, false, kCpuUs,
       Column::kMeasured},
      {kDevNoise, "relative half-width of the 95% confidence interval of dev_us", "fraction", kDevUs, false, kDevUs,
       Column::kMeasured},
      {kNativeNoise, "relative half-width of the 95% confidence interval of native_us", "fraction", kNativeUs, false,
       kNativeUs, Column::kMeasured},
      {kSamples, "interleaved samples taken (each: one call per side)", "count", nullptr, false, nullptr,
       Column::kCounts},
      // Counted in the probe, the floor's terms: shown where there is a floor.
      {kMovedToCpu, "tensors one call's fallback moved to the CPU (its inputs)", "tensors", kFloorUs, false, nullptr,
       Column::kCounts},
      {kMovedToDev, "tensors one call's fallback moved back to the device (outputs, mutated arguments)", "tensors",
       kFloorUs, false, nullptr, Column::kCounts},
      {kMovedBytes, "bytes of the moved tensors, both ways", "bytes", kFloorUs, false, nullptr, Column::kCounts}};
  return kRows;
}

const std::vector<Counter>& workload_rows() {
  static const std::vector<Counter> kRows = {
      {kFallbackPct, "% of op time spent in ops that fell back", "%", nullptr, false, nullptr, Column::kMeasured},
      {kFallbackCallsPct, "% of top-level op calls that fell back", "%", nullptr, false, nullptr, Column::kMeasured},
      {kTotalOps, "top-level op calls in one workload pass", "calls", nullptr, false, nullptr, Column::kMeasured},
      {kWallUs, "median unobserved pass, device synced at both ends", "us", nullptr, false, nullptr,
       Column::kMeasured},
      {kObservedUs, "median observed pass (the one fallback_pct comes from)", "us", nullptr, false, nullptr,
       Column::kMeasured},
      {kAttributionOverheadPct,
       "median over iterations of 100 x (observed/unobserved - 1), the two passes of one iteration paired", "%",
       nullptr, true, nullptr, Column::kMeasured},
      {kFallbackUs, "mean fallback time per observed pass", "us", nullptr, false, nullptr, Column::kMeasured},
      {kRfFallbackPct, "fallback_pct from the RecordFunction passes that map the run", "%", nullptr, false, nullptr,
       Column::kMeasured},
      {kRfOverheadPct, "attribution_overhead_pct of the RecordFunction passes", "%", nullptr, true, nullptr,
       Column::kMeasured}};
  return kRows;
}

const std::vector<std::string>& case_counters() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> out;
    for (const Counter& c : case_rows()) out.emplace_back(c.name);
    return out;
  }();
  return kNames;
}

const char* undefined_when_zero(const std::string& key) {
  for (const Counter& c : case_rows())
    if (key == c.name) return c.basis;
  return nullptr;
}

const std::vector<std::pair<const char*, const char*>>& noise_sides() {
  static const std::vector<std::pair<const char*, const char*>> kSides = [] {
    std::vector<std::pair<const char*, const char*>> out;
    for (const Counter& c : case_rows())
      if (c.noise_of) out.emplace_back(c.name, c.noise_of);
    return out;
  }();
  return kSides;
}

}  // namespace counters

namespace label {

const std::vector<Key>& keys() {
  static const std::vector<Key> kKeys = {
      {kFallbackOps, "ops seen falling back in the probe, comma list", Row::kCase, true, false},
      {kEmulatedOps, "ops routed through cpu_fallback (emulation), comma list", Row::kCase, false, false},
      {kMaxAbsDiff, "emulate mode: largest |emulated - native| over the outputs", Row::kCase, false, false},
      {kStaticTable, "MPS builds: the op's computed dispatch-table entry", Row::kCase, false, false},
      {kMpsVerdict, "what MPS does with this case's op in the torch measured (a verdict token)", Row::kCase, true,
       false},
      {kMpsVia,
       "falls back: the leaf ops without an MPS kernel (the op itself when it is not a composite); native "
       "composite: the leaves, all with kernels (comma list)",
       Row::kCase, true, false},
      {kVerdictSource, "where the verdict comes from: \"run time on MPS\" or \"static: ...\"", Row::kCase, true,
       false},
      {kStaticVerdict, "MPS runs: the static verdict beside the run-time one", Row::kCase, false, false},
      {kVerdictFinding, "MPS runs: where run time and static disagree", Row::kCase, false, false},
      {kVerdictTorch, "the torch the static verdicts are for (--verdict-torch, a source tree's version, or the linked "
                      "torch)",
       Row::kCase, false, false},
      {kVerdictId, "the files the static verdicts were read from: \"sha256:<hex>\" of the yaml, or \"commit:<hex>\"",
       Row::kCase, false, false},
      {kTopFallback, "the workload's top fallback ops by share of op time (\"aten::x:41.2%,aten::y:10.1%\")",
       Row::kWorkload, false, true},
      {kEmulated, "emulate mode: the targets' ops a workload pass reached and emulated, comma list", Row::kWorkload,
       false, true}};
  return kKeys;
}

std::string format(const Fields& fields) {
  const auto kept_empty = [](const std::string& key) {
    for (const Key& k : keys())
      if (key == k.name) return k.kept_empty;
    return false;
  };
  std::string out;
  for (const auto& [key, raw] : fields) {
    if (raw.empty() && !kept_empty(key)) continue;
    std::string value = raw;
    for (size_t at = value.find("; "); at != std::string::npos; at = value.find("; ", at)) value.replace(at, 2, ", ");
    out += (out.empty() ? "" : "; ") + key + "=" + value;
  }
  return out;
}

std::map<std::string, std::string> parse(const std::string& label) {
  std::map<std::string, std::string> out;
  for (auto& [key, value] : split_pairs(label, "; ", '=')) out[key] = value;
  return out;
}

}  // namespace label

namespace verdict {

std::string record_field(const std::string& label_key) {
  for (const char* part : {"mps_", "verdict_"})
    if (label_key.rfind(part, 0) == 0) return label_key.substr(std::string(part).size());
  return label_key;
}

const std::vector<std::string>& record_fields() {
  static const std::vector<std::string> kFields = {kRecordTorch, record_field(label::kMpsVerdict),
                                                   record_field(label::kMpsVia), record_field(label::kVerdictSource)};
  return kFields;
}

std::string text(const std::string& verdict, const std::string& op, const std::vector<std::string>& via) {
  const std::string leaves = join(via, ", ");
  if (verdict == kFallsBack && !via.empty() && !(via.size() == 1 && via[0] == op)) return verdict + " via " + leaves;
  if (verdict == kNative && !via.empty() && !(via.size() == 1 && via[0] == op))
    return "native: all leaves have MPS kernels (" + leaves + ")";
  return verdict;
}

}  // namespace verdict

std::string contract_json() {
  using nlohmann::ordered_json;
  const auto rows = [](const std::vector<counters::Counter>& table) {
    static const char* const kColumns[] = {"measured", "counts", "last"};
    ordered_json out = ordered_json::array();
    for (const auto& c : table)
      out.push_back({{"name", c.name},
                     {"meaning", c.meaning},
                     {"unit", c.unit},
                     {"basis", c.basis ? ordered_json(c.basis) : ordered_json()},
                     {"can_be_negative", c.can_be_negative},
                     {"noise_of", c.noise_of ? ordered_json(c.noise_of) : ordered_json()},
                     {"column", kColumns[static_cast<int>(c.column)]}});
    return out;
  };
  ordered_json out;
  out["case_counters"] = rows(counters::case_rows());
  out["workload_counters"] = rows(counters::workload_rows());
  auto& keys = out["label_keys"] = ordered_json::array();
  for (const auto& k : label::keys())
    keys.push_back({{"name", k.name},
                    {"meaning", k.meaning},
                    {"row", k.row == label::Row::kCase ? "case" : "workload"},
                    {"case_column", k.case_column},
                    {"kept_empty", k.kept_empty}});
  out["verdict_record"] = verdict::record_fields();
  out["name_segments"] = {name::kOp, name::kShape, name::kDtype, name::kDevice};
  out["noisy_above"] = counters::kNoisyAbove;
  return out.dump(2);
}

}  // namespace mpsfb
