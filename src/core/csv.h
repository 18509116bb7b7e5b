// CSV fields as RFC 4180 writes them: a field holding a comma, a double quote or a line break is
// quoted, with its quotes doubled; everything else is written as is. Used for files whose fields
// may hold free text (trials.csv error messages).
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rapid {

// One field, quoted when needed.
std::string CsvField(std::string_view text);

// Fields joined by commas (each through CsvField), without a line end.
std::string CsvRow(const std::vector<std::string>& fields);

// Rows of `text` (quoted fields may span lines; "\r\n" and "\n" both end a row; a last row without
// a line end still counts). `complete` (may be null) is false when the text ends inside a quoted
// field (a row cut short): that row is not returned.
std::vector<std::vector<std::string>> ParseCsv(std::string_view text, bool* complete = nullptr);

}  // namespace rapid
