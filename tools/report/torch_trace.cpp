#include "torch_trace.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace mpsfb::report::torch_trace {

namespace {

using json = nlohmann::json;

// A forward-only view of a file in 1 MiB chunks, as the input iterator nlohmann's
// iterator_input_adapter reads one character at a time from (much faster than fgetc).
class Chunks {
 public:
  explicit Chunks(std::FILE* f) : f_(f), buf_(1 << 20) { fill(); }
  bool at_end() const { return pos_ == len_; }
  char get() const { return buf_[pos_]; }
  void next() {
    if (++pos_ == len_) fill();
  }
  uint64_t offset() const { return base_ + pos_; }

 private:
  void fill() {
    base_ += len_;
    len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
    pos_ = 0;
  }
  std::FILE* f_;
  std::vector<char> buf_;
  size_t pos_ = 0, len_ = 0;
  uint64_t base_ = 0;
};

class ChunkIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = char;

  ChunkIterator() = default;
  explicit ChunkIterator(Chunks* c) : c_(c) {}
  char operator*() const { return c_->get(); }
  ChunkIterator& operator++() {
    c_->next();
    return *this;
  }
  // Only ever compared with the end iterator (a null one).
  bool operator==(const ChunkIterator& o) const { return done() == o.done(); }
  bool operator!=(const ChunkIterator& o) const { return !(*this == o); }

 private:
  bool done() const { return !c_ || c_->at_end(); }
  Chunks* c_ = nullptr;
};

uint64_t hash_text(const std::string& s) { return std::hash<std::string>{}(s); }

// The SAX handler: a small state machine over the paths it keeps; any other subtree is skipped.
class Reader : public json::json_sax_t {
 public:
  explicit Reader(Trace& t) : t_(t) {
    t_.strings.push_back("");
    ids_.emplace("", 0);
  }

  // Inside "mpsfb_preflight" every call goes to a DOM builder (it is small); elsewhere to scalar().
  bool null() override { return meta_ ? meta_->null() : scalar(Value{}); }
  bool boolean(bool v) override { return meta_ ? meta_->boolean(v) : scalar(Value{v ? 1.0 : 0.0, true, {}, false}); }
  bool number_integer(number_integer_t v) override {
    return meta_ ? meta_->number_integer(v) : scalar(Value{static_cast<double>(v), true, {}, false});
  }
  bool number_unsigned(number_unsigned_t v) override {
    return meta_ ? meta_->number_unsigned(v) : scalar(Value{static_cast<double>(v), true, {}, false});
  }
  bool number_float(number_float_t v, const string_t& s) override {
    return meta_ ? meta_->number_float(v, s) : scalar(Value{v, true, {}, false});
  }
  bool string(string_t& v) override { return meta_ ? meta_->string(v) : scalar(Value{0, false, std::move(v), true}); }
  bool binary(binary_t&) override { return scalar(Value{}); }

  bool start_object(std::size_t n) override {
    if (meta_) return meta_->start_object(n) && push(Frame::kOther);
    if (stack_.empty()) return push(Frame::kTop);
    if (top() == Frame::kEvents) {
      ev_ = {};
      return push(Frame::kEvent);
    }
    if (top() == Frame::kTop && key_ == "mpsfb_preflight") {
      meta_ = std::make_unique<nlohmann::detail::json_sax_dom_parser<json>>(meta_json_, false);
      meta_->start_object(n);
      return push(Frame::kOther);
    }
    if (top() == Frame::kEvent && key_ == "args") return push(Frame::kArgs);
    return push(Frame::kOther);
  }
  bool end_object() override {
    if (meta_) {
      meta_->end_object();
      stack_.pop_back();
      if (top() == Frame::kTop) meta_.reset();
      return true;
    }
    const Frame f = top();
    stack_.pop_back();
    if (f == Frame::kEvent) finish_event();
    return true;
  }
  bool start_array(std::size_t n) override {
    if (meta_) return meta_->start_array(n) && push(Frame::kOther);
    if (stack_.empty()) {
      legacy_ = true;  // the legacy autograd profiler writes a bare array of events
      return false;
    }
    if (top() == Frame::kTop && key_ == "traceEvents") return push(Frame::kEvents);
    if (top() == Frame::kArgs && key_ == "Input type") {
      ev_.has_types = true;
      return push(Frame::kTypes);
    }
    if (top() == Frame::kArgs && key_ == "Input Dims") return push(Frame::kDims);
    if (top() == Frame::kArgs && key_ == "Concrete Inputs") return push(Frame::kConcrete);
    if (top() == Frame::kDims) {
      dim_.clear();
      return push(Frame::kOneDims);
    }
    return push(Frame::kOther);
  }
  bool end_array() override {
    if (meta_) {
      meta_->end_array();
      stack_.pop_back();
      return true;
    }
    const Frame f = top();
    stack_.pop_back();
    if (f == Frame::kOneDims) {
      if (ev_.ndims++) ev_.dims += '|';
      ev_.dims += dim_.empty() ? std::string() : dim_;
    }
    return true;
  }
  bool key(string_t& k) override {
    if (meta_) return meta_->key(k);
    key_ = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error_position_ = position;
    error_ = e.what();
    return false;
  }

  bool legacy() const { return legacy_; }
  const std::string& error() const { return error_; }
  std::size_t error_position() const { return error_position_; }
  const json& meta_json() const { return meta_json_; }
  bool saw_events() const { return saw_events_; }

 private:
  enum class Frame { kTop, kEvents, kEvent, kArgs, kTypes, kDims, kOneDims, kConcrete, kOther };
  struct Value {
    double number = 0;
    bool is_number = false;
    std::string text;
    bool is_string = false;
  };
  struct Pending {
    std::string ph, cat, name, types, dims, concrete, thread_text;
    double ts = 0, dur = 0, pid = 0, tid = 0;
    bool has_ts = false, has_dur = false, has_types = false, pid_text = false, tid_text = false;
    int ntypes = 0, ndims = 0, nconcrete = 0;
  };

  Frame top() const { return stack_.back(); }
  bool push(Frame f) {
    if (f == Frame::kEvents) saw_events_ = true;
    stack_.push_back(f);
    return true;
  }

  bool scalar(Value v) {
    if (stack_.empty()) return false;  // a bare scalar document
    switch (top()) {
      case Frame::kTop:
        if (key_ == "schemaVersion" && v.is_number) t_.schema_version = static_cast<int64_t>(v.number);
        if (key_ == "with_stack" && v.is_number) t_.with_stack = v.number != 0;
        if (key_ == "record_shapes" && v.is_number) t_.record_shapes = v.number != 0;
        break;
      case Frame::kEvent:
        if (key_ == "ph") ev_.ph = std::move(v.text);
        else if (key_ == "cat") ev_.cat = std::move(v.text);
        else if (key_ == "name") ev_.name = std::move(v.text);
        else if (key_ == "ts") ev_.ts = v.number, ev_.has_ts = v.is_number;
        else if (key_ == "dur") ev_.dur = v.number, ev_.has_dur = v.is_number;
        else if (key_ == "pid") thread_part(v, ev_.pid, ev_.pid_text);
        else if (key_ == "tid") thread_part(v, ev_.tid, ev_.tid_text);
        break;
      case Frame::kTypes:
        if (ev_.ntypes++) ev_.types += '|';
        ev_.types += v.text;
        break;
      case Frame::kConcrete:
        if (ev_.nconcrete++) ev_.concrete += '|';
        ev_.concrete += v.text;
        break;
      case Frame::kOneDims:
        if (!dim_.empty()) dim_ += 'x';
        dim_ += std::to_string(static_cast<int64_t>(v.number));
        break;
      case Frame::kDims:  // a non-list entry: keep the inputs aligned
        if (ev_.ndims++) ev_.dims += '|';
        break;
      default:
        break;
    }
    return true;
  }

  void thread_part(const Value& v, double& number, bool& is_text) {
    if (v.is_number) {
      number = v.number;
    } else {
      is_text = true;
      ev_.thread_text += v.text + "/";
    }
  }

  uint32_t intern(const std::string& s) {
    const auto it = ids_.find(s);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<uint32_t>(t_.strings.size());
    t_.strings.push_back(s);
    ids_.emplace(s, id);
    return id;
  }

  void finish_event() {
    const uint64_t index = t_.trace_events++;
    Kind kind;
    if (ev_.ph != "X") {
      ++t_.left_out;
      return;
    }
    if (ev_.cat == "cpu_op")
      kind = Kind::kOp;
    else if (ev_.cat == "user_annotation")
      kind = Kind::kScope;
    else if (ev_.cat == "python_function")
      kind = Kind::kPython;
    else {
      ++t_.left_out;
      return;
    }
    auto where = [&] { return t_.path + ": traceEvents[" + std::to_string(index) + "] (\"" + ev_.name + "\"): "; };
    if (!ev_.has_ts || !ev_.has_dur) throw std::runtime_error(where() + "a complete event without a numeric ts and dur");
    if (ev_.dur < 0) throw std::runtime_error(where() + "negative dur " + std::to_string(ev_.dur));
    Event e;
    e.ts = ev_.ts;
    e.dur = ev_.dur;
    const uint64_t pid = ev_.pid_text ? 0 : static_cast<uint64_t>(ev_.pid);
    e.thread = ev_.pid_text || ev_.tid_text ? hash_text(ev_.thread_text + std::to_string(ev_.pid) + "/" +
                                                        std::to_string(ev_.tid))
                                            : (pid << 32) ^ static_cast<uint64_t>(ev_.tid);
    pids_.insert(ev_.pid_text ? hash_text(ev_.thread_text) : pid);
    e.kind = kind;
    e.name = intern(ev_.name);
    if (kind == Kind::kOp) {
      if (!ev_.has_types) ++t_.ops_without_types;
      e.types = intern(ev_.types);
      e.dims = intern(ev_.dims);
      e.concrete = intern(ev_.concrete);
    }
    t_.events.push_back(e);
  }

  Trace& t_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<Frame> stack_;
  std::string key_, dim_;
  Pending ev_;
  std::set<uint64_t> pids_;
  bool legacy_ = false, saw_events_ = false;
  std::string error_;
  std::size_t error_position_ = 0;
  json meta_json_;
  std::unique_ptr<nlohmann::detail::json_sax_dom_parser<json>> meta_;

 public:
  uint64_t processes() const { return pids_.size(); }
};

template <typename T>
T meta_value(const json& j, const char* key, T fallback) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return it->get<T>();
}

Meta read_meta(const json& j, const std::string& path) {
  Meta m;
  if (j.is_null()) return m;
  try {
    m.present = true;
    m.format = static_cast<int>(meta_value<double>(j, "format", 0));
    m.torch = meta_value<std::string>(j, "torch", "");
    m.cpu = meta_value<std::string>(j, "cpu", "");
    m.command = meta_value<std::vector<std::string>>(j, "command", {});
    m.complete = meta_value<bool>(j, "complete", true);
    if (j.contains("exit_status") && j["exit_status"].is_number())
      m.exit_status = static_cast<int64_t>(j["exit_status"].get<double>());
    m.stopped = meta_value<std::string>(j, "stopped", "");
    if (j.contains("steps_recorded") && j["steps_recorded"].is_number())
      m.steps_recorded = static_cast<int64_t>(j["steps_recorded"].get<double>());
    if (j.contains("recorded_s") && j["recorded_s"].is_number()) m.recorded_s = j["recorded_s"].get<double>();
    m.worker_processes = static_cast<int64_t>(meta_value<double>(j, "worker_processes", 0));
    m.forks = static_cast<int64_t>(meta_value<double>(j, "forks", 0));
    m.overload_names = meta_value<bool>(j, "overload_names", false);
    m.not_user_modules = meta_value<std::vector<std::string>>(j, "not_user_modules", {});
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": mpsfb_preflight: not the recorder's format (" + std::string(e.what()) + ")");
  }
  if (m.format != 1)
    throw std::runtime_error(path + ": mpsfb_preflight.format is " + std::to_string(m.format) +
                             "; this mpsfb_report reads format 1 (record it again with this tools/preflight.sh)");
  return m;
}

}  // namespace

Trace read(const std::string& path) {
  Trace t;
  t.path = path;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw std::runtime_error(path + ": cannot open the trace: " + std::strerror(errno));
  Chunks chunks(f.get());
  if (chunks.at_end()) throw std::runtime_error(path + ": empty file: no trace (did the program start? see its output)");
  Reader reader(t);
  const bool ok = json::sax_parse(ChunkIterator(&chunks), ChunkIterator(), &reader);
  t.bytes = chunks.offset();
  if (reader.legacy())
    throw std::runtime_error(path + ": a bare JSON array of events: the legacy torch.autograd.profiler format, "
                                    "without shapes' types or the Python stack; record with torch.profiler "
                                    "(tools/preflight.sh)");
  if (!ok) {
    const bool cut = chunks.at_end();
    throw std::runtime_error(path + ": byte " + std::to_string(reader.error_position()) + ": " +
                             (cut ? "the trace is cut short (truncated file): " : "malformed JSON: ") + reader.error());
  }
  if (!reader.saw_events())
    throw std::runtime_error(path + ": not a torch.profiler Chrome trace: no traceEvents array");
  if (!t.schema_version)
    throw std::runtime_error(path + ": not a torch.profiler Chrome trace: no schemaVersion (another profiler's "
                                    "Chrome trace?)");
  if (*t.schema_version != 1)
    throw std::runtime_error(path + ": schemaVersion is " + std::to_string(*t.schema_version) +
                             "; this mpsfb_report reads 1 (torch.profiler of torch 1.8.1 to 2.13)");
  t.meta = read_meta(reader.meta_json(), path);
  t.processes = reader.processes();
  return t;
}

}  // namespace mpsfb::report::torch_trace
