// Writing the report's files all-or-nothing.
//
// Every output is first built in memory; OutputSet::commit then
//   1. checks every destination (named once, not a directory, its folder can be a folder),
//   2. writes each file to a temporary beside its destination, creating missing folders,
//   3. renames the temporaries into place only once all were written.
// A failure in 1 or 2 (bad input found late, a directory in the way, an unwritable folder, a
// full disk) leaves the previous outputs as they were: no temporary, no new folder, no
// partial file. Only a rename failing in 3, when the folder changed under the run, leaves
// the files renamed before it new and the rest old; the message names both.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mpsfb::report {

class OutputSet {
 public:
  void add(std::string path, std::string content) { files_.emplace_back(std::move(path), std::move(content)); }
  // Throws std::runtime_error naming the file that could not be written; no temp file is left.
  // Two outputs with the same destination are an error.
  void commit() const;
  // What commit() would write: (destination, content), in the order added.
  const std::vector<std::pair<std::string, std::string>>& files() const { return files_; }

 private:
  std::vector<std::pair<std::string, std::string>> files_;
};

// One file, same guarantees.
void write_atomically(const std::string& path, const std::string& content);

// "aten::isin.Tensor_Tensor" -> "aten__isin.Tensor_Tensor.csv"
std::string op_file_name(const std::string& op);

}  // namespace mpsfb::report
