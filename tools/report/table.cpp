#include "table.h"

#include <stdexcept>

namespace mpsfb::report {

void Table::add_row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size())
    throw std::logic_error("table row has " + std::to_string(cells.size()) + " cells, the table " +
                           std::to_string(columns_.size()) + " columns");
  rows_.push_back(std::move(cells));
}

namespace {

std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

void csv_line(std::string& out, const std::vector<std::string>& cells) {
  for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + csv_cell(cells[i]);
  out += "\n";
}

void md_line(std::string& out, const std::vector<std::string>& cells) {
  out += "|";
  for (const auto& c : cells) out += " " + md_cell(c) + " |";
  out += "\n";
}

}  // namespace

std::string to_csv(const Table& t) {
  std::string out;
  std::vector<std::string> header;
  for (const auto& c : t.columns()) header.push_back(c.header);
  csv_line(out, header);
  for (const auto& row : t.rows()) csv_line(out, row);
  return out;
}

std::string to_markdown(const Table& t) {
  std::string out;
  std::vector<std::string> header;
  for (const auto& c : t.columns()) header.push_back(c.header);
  md_line(out, header);
  out += "|";
  for (const auto& c : t.columns()) out += c.align == Align::kRight ? " ---: |" : " --- |";
  out += "\n";
  for (const auto& row : t.rows()) md_line(out, row);
  return out;
}

}  // namespace mpsfb::report
