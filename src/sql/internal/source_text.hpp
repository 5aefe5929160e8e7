// Private to the sql layer: the raw bytes of a file before any parsing. Rejects what must never
// reach the parser (oversize, NUL, invalid UTF-8, byte-order mark) and maps byte offsets and the
// parser's character positions to 1-based line and column for messages.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace datafix::sql::internal {

struct Position {
    int line = 1;
    int column = 1;  // in characters (UTF-8 code points)
};

class SourceText {
  public:
    // Throws datafix::Error(invalid_input) naming file:line:column for bytes that are not text.
    SourceText(std::string_view bytes, std::string file_name);

    const std::string& bytes() const { return bytes_; }
    const std::string& file_name() const { return file_name_; }

    Position at_byte(std::size_t offset) const;
    // libpg_query reports 1-based character positions; 0 means "unknown" and maps to the end.
    Position at_character(int cursor_position) const;
    std::size_t byte_of_character(int cursor_position) const;

    // "file:line:column"
    std::string where(Position position) const;

  private:
    // Characters (not bytes) before `offset`, from the nearest checkpoint: every position lookup
    // costs at most kCheckpointBytes steps, whatever the length of the line or file.
    std::size_t characters_before(std::size_t offset) const;

    static constexpr std::size_t kCheckpointBytes = 256;
    std::string bytes_;
    std::string file_name_;
    std::vector<std::size_t> line_starts_;
    std::vector<std::size_t> characters_before_;  // at every kCheckpointBytes-th byte
};

}  // namespace datafix::sql::internal
