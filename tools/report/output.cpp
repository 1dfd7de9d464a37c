#include "output.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>

namespace mpsfb::report {

namespace fs = std::filesystem;

namespace {

// A name no concurrent run picks: same directory, so the rename stays on one file system.
fs::path temp_beside(const fs::path& target) {
  static std::mt19937_64 rng{std::random_device{}()};
  return target.parent_path() / ("." + target.filename().string() + ".tmp" + std::to_string(rng() % 1000000007));
}

// What stands in the way of writing `target`, checked before anything is written: "" if nothing.
std::string obstacle(const fs::path& target) {
  std::error_code ec;
  const auto st = fs::status(target, ec);
  if (fs::is_directory(st)) return "is a directory";
  if (fs::exists(st) && !fs::is_regular_file(st)) return "exists and is not a regular file";
  if (!target.has_filename()) return "names no file";
  for (fs::path dir = target.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    const auto d = fs::status(dir, ec);
    if (fs::exists(d)) {
      if (!fs::is_directory(d)) return "cannot be written: " + dir.string() + " is not a directory";
      break;
    }
    if (dir == dir.parent_path()) break;
  }
  return "";
}

// Undoes what a failed commit made: its temporaries, then the directories it created (only
// while empty, deepest first).
void undo(const std::vector<fs::path>& temps, const std::vector<fs::path>& created_dirs) {
  std::error_code ignored;
  for (const auto& p : temps) fs::remove(p, ignored);
  for (auto it = created_dirs.rbegin(); it != created_dirs.rend(); ++it) fs::remove(*it, ignored);
}

}  // namespace

void OutputSet::commit() const {
  // 1. Everything that can be checked without writing: each target once, none a directory.
  std::set<fs::path> seen;
  for (const auto& [path, content] : files_) {
    const fs::path target = fs::path(path).lexically_normal();
    if (!seen.insert(target).second) throw std::runtime_error(path + ": named for two outputs");
    if (const auto why = obstacle(target); !why.empty()) throw std::runtime_error(path + ": " + why);
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
      temps.push_back(temp_beside(target));
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

void write_atomically(const std::string& path, const std::string& content) {
  OutputSet one;
  one.add(path, content);
  one.commit();
}

std::string op_file_name(const std::string& op) {
  std::string out;
  for (size_t i = 0; i < op.size(); ++i) {
    if (op.compare(i, 2, "::") == 0) {
      out += "__";
      ++i;
    } else if (op[i] == '/' || op[i] == '\\' || op[i] == ':') {
      out += '_';  // not in ATen names; keeps a stray one from escaping the directory
    } else {
      out += op[i];
    }
  }
  return out + ".csv";
}

}  // namespace mpsfb::report
