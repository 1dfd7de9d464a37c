// Writing the report's files all-or-nothing.
//
// Every output is first built in memory; OutputSet::commit then
//   1. checks every destination (named once however spelled, not a directory, not an input,
//      replaceable: not immutable or read-only, its folder can be a folder),
//   2. writes each file to a temporary beside its destination, creating missing folders,
//   3. renames the temporaries into place only once all were written.
// A failure in 1 or 2 (bad input found late, a directory in the way, an unwritable folder, a
// full disk) leaves the previous outputs as they were: no temporary, no new folder, no
// partial file. Only a rename failing in 3, when the folder changed under the run, leaves
// the files renamed before it new and the rest old; the message names both. SIGINT, SIGTERM
// and SIGHUP are held from 2 to the end of 3, so a signal cannot leave temporaries or a mix.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mpsfb::report {

class OutputSet {
 public:
  // An output that is one of the inputs read (same file, however spelled) is refused, unless
  // `may_replace_inputs`: the status file that --update-targets reads and rewrites.
  explicit OutputSet(bool may_replace_inputs = false) : may_replace_inputs_(may_replace_inputs) {}
  void add(std::string path, std::string content) { files_.emplace_back(std::move(path), std::move(content)); }
  // Throws std::runtime_error naming the file that could not be written; no temp file is left.
  // Two outputs with the same destination are an error.
  void commit() const;
  // What commit() would write: (destination, content), in the order added.
  const std::vector<std::pair<std::string, std::string>>& files() const { return files_; }

 private:
  std::vector<std::pair<std::string, std::string>> files_;
  bool may_replace_inputs_ = false;
};

// One file, same guarantees.
void write_atomically(const std::string& path, const std::string& content, bool replaces_input = false);

// "aten::isin.Tensor_Tensor" -> "aten__isin.Tensor_Tensor.csv"; a byte no file name should
// hold becomes %XX ("aten::a/b" -> "aten__a%2Fb.csv").
std::string op_file_name(const std::string& op);

}  // namespace mpsfb::report
