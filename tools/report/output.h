// Writing the report's files all-or-nothing.
//
// Every output is first built in memory; OutputSet then writes each one to a temporary file
// beside its destination and renames them only once all were written, so a failure (bad
// input found late, full disk) leaves the previous outputs as they were and no partial file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mpsfb::report {

class OutputSet {
 public:
  void add(std::string path, std::string content) { files_.emplace_back(std::move(path), std::move(content)); }
  // Throws std::runtime_error naming the file that could not be written; no temp file is left.
  void commit() const;

 private:
  std::vector<std::pair<std::string, std::string>> files_;
};

// One file, same guarantees.
void write_atomically(const std::string& path, const std::string& content);

// "aten::isin.Tensor_Tensor" -> "aten__isin.Tensor_Tensor.csv"
std::string op_file_name(const std::string& op);

}  // namespace mpsfb::report
