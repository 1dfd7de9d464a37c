#include "mps_verdict.h"

#include "device.h"
#include "ops_libraries.h"
#include "torch_message.h"

#include <iostream>

namespace mpsfb {

verdicts::Book load_verdicts(const std::string& path, std::string* context_value) {
  std::string yaml = path, why;
  if (yaml.empty()) {
    const std::string lib = torch_library_dir();
    yaml = verdicts::find_native_functions(lib);
    if (yaml.empty())
      why = "no torchgen/packaged/ATen/native/native_functions.yaml beside the linked libtorch (" +
            (lib.empty() ? std::string("location unknown") : lib) + "); pass --native-functions=PATH";
  }
  std::optional<verdicts::NativeFunctions> nf;
  if (why.empty()) {
    try {
      nf = verdicts::load_native_functions(yaml);
    } catch (const std::exception& e) {
      why = e.what();
    }
  }
  if (!nf) {
    std::cerr << "mps_benchmarks: no MPS verdicts: " << why << "; the run goes on, every verdict is unknown\n";
    if (context_value) *context_value = "not found: " + why;
    return verdicts::Book(std::nullopt, torch_version(),
                          verdict::kUnknownSource + ("no native_functions.yaml (" + why + ")"));
  }
  if (context_value) *context_value = yaml;
  return verdicts::Book(std::move(nf), torch_version());
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
  if (static_beside) {
    f.emplace_back(label::kStaticVerdict, static_beside->text(op) + " (" + static_beside->source + ")");
    if (static_beside->verdict != verdict::kUnknown && static_beside->verdict != v.verdict)
      f.emplace_back(label::kVerdictFinding,
                     "run time says " + v.text(op) + " but the static view says " + static_beside->text(op));
  }
  return f;
}

}  // namespace mpsfb
