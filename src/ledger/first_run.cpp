// `datafix init`: key file, ledger, first admin. The key file is created first (refusing to
// overwrite one) and removed again if the ledger turns out to be in use already.
#include "ledger/first_run.hpp"

#include <filesystem>

#include "core/crypto.hpp"
#include "core/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger/migrations.hpp"

namespace datafix::ledger {

FirstRunResult initialize(const FirstRunOptions& options) {
    if (std::filesystem::exists(options.key_file)) {
        throw Error(ErrorCode::config, "the key file " + options.key_file + " already exists",
                    "this server is initialized already; keep that key (without it the sealed "
                    "data cannot be read)");
    }
    Key key = Key::create_file(options.key_file);
    try {
        std::unique_ptr<Ledger> ledger = Ledger::open(options.ledger_url, key);
        if (ledger->count_users() > 0) {
            throw Error(ErrorCode::config, "the ledger already has people",
                        "point ledger at a new file or database, or use the existing key");
        }
        NewPerson admin = options.admin;
        admin.role = Role::admin;
        AuditEvent event;
        event.at = options.now;
        event.actor = 0;
        FirstRunResult result;
        result.admin = ledger->create_user(admin, event);
        result.schema_version = ledger->schema_version();
        return result;
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove(options.key_file, ignored);
        throw;
    }
}

}  // namespace datafix::ledger
