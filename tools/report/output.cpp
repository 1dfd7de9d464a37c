#include "output.h"

#include <filesystem>
#include <fstream>
#include <random>
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

void remove_quietly(const std::vector<fs::path>& paths) {
  std::error_code ignored;
  for (const auto& p : paths) fs::remove(p, ignored);
}

}  // namespace

void OutputSet::commit() const {
  std::vector<fs::path> temps;
  try {
    for (const auto& [path, content] : files_) {
      const fs::path target(path);
      std::error_code ec;
      if (target.has_parent_path()) fs::create_directories(target.parent_path(), ec);
      if (ec) throw std::runtime_error(path + ": cannot create its directory: " + ec.message());
      temps.push_back(temp_beside(target));
      std::ofstream out(temps.back(), std::ios::binary | std::ios::trunc);
      out << content;
      out.close();
      if (!out) throw std::runtime_error(path + ": cannot write (" + temps.back().string() + ")");
    }
    for (size_t i = 0; i < files_.size(); ++i) {
      std::error_code ec;
      fs::rename(temps[i], files_[i].first, ec);
      if (ec) throw std::runtime_error(files_[i].first + ": cannot replace: " + ec.message());
    }
  } catch (...) {
    remove_quietly(temps);
    throw;
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
