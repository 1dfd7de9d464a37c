// One table model, two writers: every CSV and every Markdown table of the report is a Table.
//
//   Table t({{"op"}, {"penalty", Align::kRight}});
//   t.add_row({"aten::roll", "2.31×"});
//   out << to_markdown(t);   // or to_csv(t)
#pragma once

#include <string>
#include <vector>

namespace mpsfb::report {

enum class Align { kLeft, kRight };

struct Column {
  std::string header;
  Align align = Align::kLeft;  // Markdown only
};

class Table {
 public:
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  // Throws std::logic_error when the row's width is not the table's.
  void add_row(std::vector<std::string> cells);

  const std::vector<Column>& columns() const { return columns_; }
  const std::vector<std::vector<std::string>>& rows() const { return rows_; }
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// RFC 4180: cells with a comma, quote or line break are quoted; "\n" line ends.
std::string to_csv(const Table& t);
// GitHub-flavoured pipe table; '|' in a cell is escaped and line breaks become spaces.
std::string to_markdown(const Table& t);

}  // namespace mpsfb::report
