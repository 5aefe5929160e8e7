// Ledger::open: picks the backend from the URL, opens one session to migrate, and hands the
// backend's session factory to the SQL ledger.
#include <utility>

#include "core/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger/migrations.hpp"
#include "ledger/sql_ledger.hpp"

namespace datafix::ledger {

namespace {
bool starts_with(const std::string& s, std::string_view prefix) {
    return s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

std::unique_ptr<Ledger> Ledger::open(const std::string& url, const Key& key,
                                     const AuditKeying* audit) {
    SessionPool::Factory factory;
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
        factory = [url] { return open_postgresql_session(url); };
    } else if (starts_with(url, "postgresql:")) {
        // "postgresql:host=... dbname=..." or "postgresql:service=...": keyword conninfo.
        std::string conninfo = url.substr(11);
        factory = [conninfo] { return open_postgresql_session(conninfo); };
    } else {
        std::string path = starts_with(url, "sqlite:") ? url.substr(7) : url;
        if (path.empty()) {
            throw Error(ErrorCode::config, "the ledger path is empty",
                        "set ledger = \"/var/lib/datafix/ledger.db\" or a postgresql:// URL");
        }
        factory = [path] { return open_sqlite_session(path); };
    }
    {
        std::unique_ptr<SqlSession> session = factory();
        migrate(*session);
    }
    auto ledger = std::make_unique<SqlLedger>(std::move(factory), key, audit);
    if (audit != nullptr) {
        ledger->key_audit_chain(audit->new_key);
    }
    return ledger;
}

}  // namespace datafix::ledger
