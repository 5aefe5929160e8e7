// Rows and transactions shared by both backends.
#include "ledger/sql_session.hpp"

#include <charconv>

#include "core/error.hpp"

namespace datafix::ledger {

namespace {
const std::string kEmpty;
}

const std::string& SqlRow::text(std::size_t i) const {
    const auto& cell = cells_.at(i);
    return cell.has_value() ? *cell : kEmpty;
}

std::int64_t SqlRow::integer(std::size_t i) const {
    return optional_integer(i).value_or(0);
}

std::optional<std::int64_t> SqlRow::optional_integer(std::size_t i) const {
    const auto& cell = cells_.at(i);
    if (!cell.has_value()) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(cell->data(), cell->data() + cell->size(), value);
    if (ec != std::errc() || end != cell->data() + cell->size()) {
        throw Error(ErrorCode::internal,
                    "ledger: column " + std::to_string(i) + " is not an integer: '" + *cell + "'");
    }
    return value;
}

SqlTransaction::SqlTransaction(SqlSession& session, Mode mode) : session_(session) {
    if (mode == Mode::write) {
        session_.begin_write();
    } else {
        session_.begin_read();
    }
}

SqlTransaction::~SqlTransaction() {
    if (open_) {
        session_.rollback();
    }
}

void SqlTransaction::commit() {
    session_.commit();
    open_ = false;
}

}  // namespace datafix::ledger
