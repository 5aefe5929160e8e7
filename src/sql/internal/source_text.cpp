// Checks a file's bytes before parsing and locates offsets as line:column for messages.
#include "sql/internal/source_text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/error.hpp"
#include "sql/analysis.hpp"

namespace datafix::sql::internal {

namespace {

bool is_continuation(unsigned char byte) {
    return (byte & 0xC0) == 0x80;
}

// Length of the valid UTF-8 sequence at `offset`, or 0 when it is not valid (overlong forms,
// surrogates and code points past U+10FFFF included), following RFC 3629.
std::size_t utf8_sequence_length(std::string_view s, std::size_t offset) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[offset + k]); };
    unsigned char lead = byte(0);
    if (lead < 0x80) {
        return 1;
    }
    std::size_t length = 0;
    uint32_t minimum = 0;
    uint32_t code = 0;
    if ((lead & 0xE0) == 0xC0) {
        length = 2;
        minimum = 0x80;
        code = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        minimum = 0x800;
        code = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        minimum = 0x10000;
        code = lead & 0x07;
    } else {
        return 0;
    }
    if (offset + length > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < length; ++k) {
        if (!is_continuation(byte(k))) {
            return 0;
        }
        code = (code << 6) | (byte(k) & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
        return 0;
    }
    return length;
}

}  // namespace

SourceText::SourceText(std::string_view bytes, std::string file_name)
    : bytes_(bytes), file_name_(std::move(file_name)) {
    line_starts_.push_back(0);
    std::size_t characters = 0;
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
        if (i % kCheckpointBytes == 0) {
            characters_before_.push_back(characters);
        }
        if (bytes_[i] == '\n') {
            line_starts_.push_back(i + 1);
        }
        if (!is_continuation(static_cast<unsigned char>(bytes_[i]))) {
            ++characters;
        }
    }
    if (bytes_.size() > kMaxFileBytes) {
        throw Error(ErrorCode::invalid_input,
                    file_name_ + ": file is " + std::to_string(bytes_.size()) +
                        " bytes, over the limit of " + std::to_string(kMaxFileBytes) +
                        " bytes (1 MiB)",
                    "a change file holds a few hand-written statements; split a large change "
                    "into several requests or load bulk data through a reviewed migration");
    }
    if (bytes_.starts_with("\xEF\xBB\xBF")) {
        throw Error(ErrorCode::invalid_input,
                    where(Position{1, 1}) + ": file starts with a UTF-8 byte-order mark",
                    "save the file as UTF-8 without a byte-order mark");
    }
    for (std::size_t i = 0; i < bytes_.size();) {
        if (bytes_[i] == '\0') {
            throw Error(ErrorCode::invalid_input, where(at_byte(i)) + ": NUL byte in SQL text",
                        "the file is not plain text; save it as UTF-8 text");
        }
        std::size_t length = utf8_sequence_length(bytes_, i);
        if (length == 0) {
            throw Error(ErrorCode::invalid_input, where(at_byte(i)) + ": invalid UTF-8",
                        "save the file as UTF-8 (PostgreSQL databases used with datafix are "
                        "UTF-8)");
        }
        i += length;
    }
    // PostgreSQL's scanner trims a trailing + or - from an operator one character at a time, so
    // its cost grows with the square of a run of operator characters: 40 KB of `+` took 10 s.
    // No operator is longer than 63 characters. Longer runs (a separator line in a comment) are
    // allowed up to 256 characters each and 4,096 in all. Operators as people write them are a
    // few characters; runs of more than 16 (separator lines again) may fill 64 KiB, so 1 MiB of
    // runs stays well under a second (1 MiB of 63-character runs took a second).
    constexpr std::size_t kLongestOperator = 63;
    constexpr std::size_t kMaxOperatorRun = 256;
    // Characters allowed, in all, in runs of more than `over` operator characters.
    struct RunBudget {
        std::size_t over;
        std::size_t budget;
        std::size_t spent = 0;
    };
    std::array<RunBudget, 2> budgets{{{16, 65536}, {kLongestOperator, 4096}}};
    std::size_t run = 0;
    for (std::size_t i = 0; i <= bytes_.size(); ++i) {
        const bool operator_char =
            i < bytes_.size() &&
            std::string_view("+-*/<>=~!@#%^&|`?").find(bytes_[i]) != std::string_view::npos;
        if (operator_char) {
            ++run;
        } else {
            for (auto& b : budgets) {
                if (run > b.over && (b.spent += run) > b.budget) {
                    throw Error(
                        ErrorCode::invalid_input,
                        where(at_byte(i - run)) + ": more than " + std::to_string(b.budget) +
                            " characters in runs of over " + std::to_string(b.over) +
                            " operator characters, which datafix does not parse",
                        "shorten the separator lines (an operator is at most " +
                            std::to_string(kLongestOperator) + " characters, and most are a few)");
                }
            }
            run = 0;
        }
        if (run > kMaxOperatorRun) {
            throw Error(ErrorCode::invalid_input,
                        where(at_byte(i + 1 - run)) + ": more than " +
                            std::to_string(kMaxOperatorRun) +
                            " operator characters in a row, which datafix does not parse",
                        "shorten the run (an operator is at most 63 characters; a separator "
                        "line in a comment can be shorter)");
        }
    }
}

std::size_t SourceText::characters_before(std::size_t offset) const {
    std::size_t checkpoint = offset / kCheckpointBytes;
    if (checkpoint >= characters_before_.size()) {
        checkpoint = characters_before_.empty() ? 0 : characters_before_.size() - 1;
    }
    std::size_t characters = characters_before_.empty() ? 0 : characters_before_[checkpoint];
    for (std::size_t i = checkpoint * kCheckpointBytes; i < offset; ++i) {
        if (!is_continuation(static_cast<unsigned char>(bytes_[i]))) {
            ++characters;
        }
    }
    return characters;
}

Position SourceText::at_byte(std::size_t offset) const {
    offset = std::min(offset, bytes_.size());
    auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    std::size_t line_index = static_cast<std::size_t>(next - line_starts_.begin()) - 1;
    std::size_t column = characters_before(offset) - characters_before(line_starts_[line_index]);
    return Position{static_cast<int>(line_index) + 1, static_cast<int>(column) + 1};
}

std::size_t SourceText::byte_of_character(int cursor_position) const {
    if (cursor_position <= 0 || characters_before_.empty()) {
        return bytes_.size();
    }
    // The character with 0-based index `wanted`: start at the last checkpoint before it.
    std::size_t wanted = static_cast<std::size_t>(cursor_position) - 1;
    auto after = std::upper_bound(characters_before_.begin(), characters_before_.end(), wanted);
    std::size_t checkpoint = static_cast<std::size_t>(after - characters_before_.begin()) - 1;
    std::size_t characters = characters_before_[checkpoint];
    for (std::size_t i = checkpoint * kCheckpointBytes; i < bytes_.size(); ++i) {
        if (is_continuation(static_cast<unsigned char>(bytes_[i]))) {
            continue;
        }
        if (characters++ == wanted) {
            return i;
        }
    }
    return bytes_.size();
}

Position SourceText::at_character(int cursor_position) const {
    return at_byte(byte_of_character(cursor_position));
}

std::string SourceText::where(Position position) const {
    return file_name_ + ":" + std::to_string(position.line) + ":" + std::to_string(position.column);
}

}  // namespace datafix::sql::internal
