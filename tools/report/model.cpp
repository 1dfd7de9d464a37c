#include "model.h"

#include "stats.h"
#include "text.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace mpsfb::report {

const char* to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kError:
      return "error";
    case Status::kSkipped:
      return "skipped";
  }
  return "?";
}

bool is_gbench_suffix(const std::string& key) {
  static const std::set<std::string> keys = {"manual_time", "real_time",  "process_time", "min_time",
                                             "min_warmup_time", "repeats", "threads",      "iterations"};
  return keys.count(key) > 0;
}

namespace {

std::optional<double> lookup(const std::map<std::string, double>& m, const std::string& key) {
  const auto it = m.find(key);
  return it == m.end() ? std::nullopt : std::optional<double>(it->second);
}

// What one case reports, chosen among its rows (see model.h).
struct Chosen {
  Status status = Status::kOk;
  std::string error;
  std::map<std::string, double> counters;
  std::string label;
};

Chosen choose(const std::vector<const Row*>& rows) {
  Chosen c;
  const Row* median_row = nullptr;
  std::vector<const Row*> ok, failed;
  std::vector<std::string> aggregates;
  for (const Row* r : rows) {
    if (r->aggregate) {
      aggregates.push_back(r->aggregate_name);
      if (r->aggregate_name == "median" && !median_row) median_row = r;
    } else if (r->error || r->skipped) {
      failed.push_back(r);
    } else {
      ok.push_back(r);
    }
  }
  // The visits' own rows first (repetitions): their medians' spread is part of the case's noise,
  // which Google Benchmark's aggregate rows lose.
  if (!ok.empty()) {
    std::map<std::string, std::vector<double>> values;
    for (const Row* r : ok)
      for (const auto& [k, v] : r->counters) values[k].push_back(v);
    for (const auto& [k, v] : values) {
      std::vector<double> numbers;  // a NaN visit is left out; all NaN: the counter stays NaN
      for (const double x : v)
        if (!std::isnan(x)) numbers.push_back(x);
      c.counters[k] = numbers.empty() ? v.front() : median(numbers);
    }
    if (ok.size() > 1) {
      for (const auto& [noise, side] : counters::noise_sides()) {
        const auto times = values.find(side);
        if (times == values.end() || !c.counters.count(noise)) continue;
        std::vector<double> medians;  // the visits that timed this side
        for (const double t : times->second)
          if (t > 0) medians.push_back(t);
        if (medians.size() > 1) c.counters[noise] = std::max(c.counters[noise], visit_spread(medians));
      }
      if (const auto it = values.find(counters::kSamples); it != values.end()) {
        double total = 0;
        for (double n : it->second) total += n;
        c.counters[counters::kSamples] = total;  // every visit's
      }
    }
    c.label = ok.front()->label;
    return c;
  }
  if (median_row) {
    c.counters = median_row->counters;
    c.label = median_row->label;
    return c;
  }
  if (!failed.empty()) {
    c.status = failed.front()->error ? Status::kError : Status::kSkipped;
    c.error = failed.front()->message;
    c.label = failed.front()->label;  // a case that cannot run on MPS still carries its verdict
    return c;
  }
  c.status = Status::kError;
  c.error = "no iteration row and no median aggregate (aggregates: " + join(aggregates, ", ") + ")";
  return c;
}

// A case row writes an undefined counter as 0 (contract/result.h, undefined_when_zero); here
// it is absent, as in runs from before every row carried every counter.
void drop_undefined(std::map<std::string, double>& counters) {
  std::vector<std::string> undefined;
  for (const auto& [key, value] : counters) {
    const char* basis = counters::undefined_when_zero(key);
    const auto b = basis ? counters.find(basis) : counters.end();
    if (b != counters.end() && b->second == 0) undefined.push_back(key);
  }
  for (const auto& key : undefined) counters.erase(key);
}

}  // namespace

std::optional<double> Case::counter(const std::string& key) const { return lookup(counters, key); }
std::optional<double> Workload::counter(const std::string& key) const { return lookup(counters, key); }

std::string Case::label_field(const std::string& key) const {
  const auto it = label.find(key);
  return it == label.end() ? std::string() : it->second;
}

std::vector<std::string> Case::label_list(const std::string& key) const {
  std::vector<std::string> out;
  for (auto& item : split(label_field(key), ","))
    if (!item.empty()) out.push_back(std::move(item));
  return out;
}

std::string Model::ctx(const std::string& key) const {
  const auto it = context.find(key);
  return it == context.end() || it->second.empty() ? std::string() : it->second.front();
}

std::vector<std::string> Model::ops() const {
  std::vector<std::string> out;
  for (const auto& [op, indices] : by_op) out.push_back(op);
  return out;
}

std::vector<const Case*> Model::cases_of(const std::string& op) const {
  std::vector<const Case*> out;
  if (const auto it = by_op.find(op); it != by_op.end())
    for (const size_t i : it->second) out.push_back(&cases[i]);
  return out;
}

Model build_model(const std::vector<Run>& runs) {
  Model m;
  std::map<std::string, size_t> case_index, workload_index;
  for (const Run& run : runs) {
    m.files.push_back(run.path);
    for (const auto& [k, v] : run.context) {
      auto& values = m.context[k];
      if (std::find(values.begin(), values.end(), v) == values.end()) values.push_back(v);
    }
    const auto ctx_device = run.context.count(context::kDevice) ? run.context.at(context::kDevice) : std::string();

    // Group rows by run name, keeping the order in which runs first appear.
    std::vector<std::string> order;
    std::map<std::string, std::vector<const Row*>> groups;
    for (const Row& r : run.rows) {
      auto& g = groups[r.run_name];
      if (g.empty()) order.push_back(r.run_name);
      g.push_back(&r);
    }

    for (const auto& run_name : order) {
      std::map<std::string, std::string> seg;
      std::vector<std::string> identity;
      for (const auto& [k, v] : name::split(run_name)) {
        if (is_gbench_suffix(k)) continue;
        seg[k] = v;
        identity.push_back(v.empty() ? k : k + ":" + v);
      }
      const std::string name = join(identity, "/");
      const Chosen chosen = choose(groups[run_name]);
      if (seg.count(segment::kOp)) {
        Case c;
        c.op = seg[segment::kOp];
        c.shape = seg[segment::kShape];
        c.dtype = seg[segment::kDtype];
        c.device = seg.count(segment::kDevice) ? seg[segment::kDevice] : ctx_device;
        c.name = name;
        c.status = chosen.status;
        c.error = chosen.error;
        c.counters = chosen.counters;
        drop_undefined(c.counters);
        c.label = label::parse(chosen.label);
        c.file = run.path;
        if (const auto it = case_index.find(name); it != case_index.end()) {
          m.cases[it->second] = std::move(c);
        } else {
          case_index[name] = m.cases.size();
          m.cases.push_back(std::move(c));
        }
      } else if (seg.count(segment::kWorkload)) {
        Workload w;
        w.name = seg[segment::kWorkload];
        w.device = seg.count(segment::kDevice) ? seg[segment::kDevice] : ctx_device;
        w.status = chosen.status;
        w.error = chosen.error;
        w.counters = chosen.counters;
        w.label = label::parse(chosen.label);
        if (const auto it = workload_index.find(name); it != workload_index.end()) {
          m.workloads[it->second] = std::move(w);
        } else {
          workload_index[name] = m.workloads.size();
          m.workloads.push_back(std::move(w));
        }
      } else {
        m.ignored.push_back(run.path + ": " + run_name);
      }
    }
  }
  for (size_t i = 0; i < m.cases.size(); ++i) m.by_op[m.cases[i].op].push_back(i);
  return m;
}

}  // namespace mpsfb::report
