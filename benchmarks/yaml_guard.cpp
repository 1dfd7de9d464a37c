#include "yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <map>
#include <istream>
#include <streambuf>
#include <vector>

namespace mpsfb {

namespace {

struct Hazard {
  std::string what;
};

// The text as a stream without a copy (an istringstream would double a large file's memory).
struct TextBuf : std::streambuf {
  explicit TextBuf(const std::string& text) {
    char* p = const_cast<char*>(text.data());  // read only: the get area is never written
    setg(p, p, p + text.size());
  }
};

// See Note [YAML aliases and node counts].
class Counter : public YAML::EventHandler {
 public:
  Counter(std::string path, const YamlLimits& limits) : path_(std::move(path)), limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, nullptr); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    leaf(mark, anchor, &value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (!limits_.allow_aliases)
      fail(mark, "an alias (*name), which this file never holds (expected: plain values; the file is written by a "
                 "program)");
    const auto it = sizes_.find(anchor);
    add(mark, it == sizes_.end() ? 1 : it->second, "through aliases");
    value_done();
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool map = false;
    YAML::anchor_t anchor = 0;
    size_t first = 0;          // nodes_ when it opened
    bool at_key = true;        // a map's next node is a key
    std::map<std::string, int> keys;  // a map's scalar keys, with their line
  };

  [[noreturn]] void fail(const YAML::Mark& m, const std::string& what) const {
    throw Hazard{path_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " + what};
  }

  void add(const YAML::Mark& mark, size_t n, const char* how) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes)
      fail(mark, "more than " + std::to_string(limits_.max_nodes) + " YAML nodes, counting those reached " + how +
                     " (expected: a file of this kind holds far fewer; see docs/fuzzing.md)");
  }

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, const std::string* value) {
    if (!stack_.empty() && stack_.back().map && stack_.back().at_key && value) {
      const auto [it, fresh] = stack_.back().keys.try_emplace(*value, mark.line + 1);
      if (!fresh)
        fail(mark, "key '" + (value->size() > 60 ? value->substr(0, 60) + "..." : *value) +
                       "' given twice in one map (first on line " + std::to_string(it->second) +
                       "; expected: each key once)");
    }
    add(mark, 1, "directly");
    if (anchor) sizes_[anchor] = 1;
    value_done();
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool map) {
    add(mark, 1, "directly");
    Frame f;
    f.map = map;
    f.anchor = anchor;
    f.first = nodes_ - 1;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (stack_.empty()) return;
    const Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.anchor) sizes_[f.anchor] = nodes_ - f.first;
    value_done();
  }

  // A node ended: in a map, keys and values alternate.
  void value_done() {
    if (!stack_.empty() && stack_.back().map) stack_.back().at_key = !stack_.back().at_key;
  }

  std::string path_;
  YamlLimits limits_;
  size_t nodes_ = 0;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, size_t> sizes_;  // nodes under each anchor, itself included
};

}  // namespace

std::optional<std::string> yaml_hazard(const std::string& text, const std::string& path, const YamlLimits& limits) {
  TextBuf buf(text);
  std::istream in(&buf);
  Counter counter(path, limits);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(counter);  // YAML::Load reads the first document only
  } catch (const Hazard& h) {
    return h.what;
  } catch (const YAML::Exception&) {
    return std::nullopt;  // not YAML: the loader's own message says where
  }
  return std::nullopt;
}

}  // namespace mpsfb
