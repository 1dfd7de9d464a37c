#include "output.h"

#include "regular_file.h"
#include "text.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <system_error>

namespace mpsfb::report {

namespace fs = std::filesystem;

namespace {

// Undoes what a failed commit made: its temporaries, then the directories it created (only
// while empty, deepest first).
void undo(const std::vector<fs::path>& temps, const std::vector<fs::path>& created_dirs) {
  std::error_code ignored;
  for (const auto& p : temps) fs::remove(p, ignored);
  for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) fs::remove(*it, ignored);
}

}  // namespace

void OutputSet::commit() const {
  // A signal during the commit would leave temporaries or a mixed set: held until every
  // rename is done (or everything is undone), then it ends the program.
  const HoldSignals hold;
  // 1. Everything that can be checked without writing: each target once (by its absolute,
  // resolved path: "results/x.csv" and "/abs/results/x.csv" are one), none a directory or an
  // input, every existing one replaceable.
  std::set<fs::path> seen;
  for (const auto& [path, content] : files_) {
    if (const auto why = output_obstacle(path, /*folder_may_be_missing=*/true); !why.empty())
      throw std::runtime_error(printable(path) + ": " + why);
    std::error_code ec;
    fs::path target = fs::weakly_canonical(fs::absolute(path, ec), ec);
    if (ec) target = fs::path(path).lexically_normal();
    if (!seen.insert(target).second) throw std::runtime_error(path + ": named for two outputs");
    if (const std::string input = same_file_as_input(path); !input.empty() && !may_replace_inputs_)
      throw std::runtime_error(path + ": is also an input (" + input + "); refusing to write over it");
  }

  // 2. Every file to a temporary in its own directory (created as needed, and removed again
  // on failure): a full disk or a folder that cannot be written fails here, with nothing written.
  std::vector<fs::path> temps, created_dirs;
  try {
    for (const auto& [path, content] : files_) {
      const fs::path target(path);
      if (target.has_parent_path()) {
        std::vector<fs::path> missing;
        for (fs::path d = target.parent_path(); !d.empty() && !fs::exists(d); d = d.parent_path()) {
          missing.push_back(d);
          if (d == d.parent_path()) break;
        }
        for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
          std::error_code ec;
          if (!fs::create_directory(*it, ec) && ec)
            throw std::runtime_error(path + ": cannot create its directory " + it->string() + ": " + ec.message());
          created_dirs.push_back(*it);
        }
      }
      temps.push_back(temp_beside(path));
      std::ofstream out(temps.back(), std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error(path + ": cannot write in its directory (" + temps.back().string() + ")");
      out << content;
      out.close();
      if (!out) throw std::runtime_error(path + ": cannot write (" + temps.back().string() + ")");
    }
  } catch (...) {
    undo(temps, created_dirs);
    throw;
  }

  // 3. Only now the renames, each atomic. One failing here (the folder changed under the run)
  // leaves the files renamed before it new and the rest as they were; see docs/reports.md.
  for (size_t i = 0; i < files_.size(); ++i) {
    std::error_code ec;
    fs::rename(temps[i], files_[i].first, ec);
    if (ec) {
      undo(std::vector<fs::path>(temps.begin() + static_cast<std::ptrdiff_t>(i), temps.end()), {});
      std::string done;
      for (size_t j = 0; j < i; ++j) done += (done.empty() ? "" : ", ") + files_[j].first;
      throw std::runtime_error(files_[i].first + ": cannot replace: " + ec.message() +
                               (done.empty() ? std::string("; nothing was written")
                                             : "; already replaced: " + done));
    }
  }
}

void write_atomically(const std::string& path, const std::string& content, bool replaces_input) {
  OutputSet one(replaces_input);
  one.add(path, content);
  one.commit();
}

std::string op_file_name(const std::string& op) {
  // "::" becomes "__"; a byte no file name should hold (a path separator, a control character,
  // a lone ':') and '%' itself become %XX, so two ops never share a file (a NUL cut the name).
  std::string out;
  for (size_t i = 0; i < op.size(); ++i) {
    const auto c = static_cast<unsigned char>(op[i]);
    if (op.compare(i, 2, "::") == 0) {
      out += "__";
      ++i;
    } else if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '%') {
      static const char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += op[i];
    }
  }
  return out + ".csv";
}

}  // namespace mpsfb::report
