#include "mps_verdict.h"

#include "device.h"
#include "ops_libraries.h"
#include "paths.h"
#include "torch_message.h"

#include <iostream>

namespace mpsfb {

verdicts::Book load_verdicts(const verdicts::SourceFlags& flags, std::string* context_value) {
  verdicts::Linked linked{torch_version(), {}, {}};
  const std::string lib = torch_library_dir();
  linked.yaml = verdicts::find_native_functions(lib);
  if (linked.yaml.empty())
    linked.why_none = "no torchgen/packaged/ATen/native/native_functions.yaml beside the linked libtorch (" +
                      (lib.empty() ? std::string("location unknown") : lib) +
                      "); pass --native-functions=PATH, --verdict-torch=VERSION or --torch-source=DIR";
  const verdicts::Fetcher fetcher{MPSFB_PYTHON, std::string(MPSFB_SOURCE_DIR) + "/tools/fetch_torch_files.py"};
  return verdicts::load_book(flags, linked, fetcher, "mps_benchmarks", context_value);
}

verdicts::Verdict runtime_verdict(const std::vector<std::string>& fallback_ops) {
  verdicts::Verdict v;
  v.verdict = fallback_ops.empty() ? verdict::kNative : verdict::kFallsBack;
  v.via = fallback_ops;
  v.source = verdict::kRunTimeSource;
  return v;
}

label::Fields verdict_fields(const std::string& op, const verdicts::Verdict& v, const verdicts::Verdict* static_beside) {
  label::Fields f{{label::kMpsVerdict, v.verdict}, {label::kMpsVia, join(v.via, ",")}, {label::kVerdictSource, v.source}};
  // The torch judged and its files: the static verdict's own, or the one shown beside the run time's.
  const verdicts::Verdict& judged = static_beside ? *static_beside : v;
  f.emplace_back(label::kVerdictTorch, judged.torch);
  f.emplace_back(label::kVerdictId, judged.id);
  if (static_beside) {
    f.emplace_back(label::kStaticVerdict, static_beside->text(op) + " (" + static_beside->source + ")");
    if (static_beside->verdict != verdict::kUnknown && static_beside->verdict != v.verdict)
      f.emplace_back(label::kVerdictFinding,
                     "run time says " + v.text(op) + " but the static view says " + static_beside->text(op));
  }
  return f;
}

}  // namespace mpsfb
