// The first run of a server (`datafix init`): creates the ledger, the key file (mode 0600) and
// the first admin, whose token is returned once.
#pragma once

#include <string>

#include "ledger/model_types.hpp"
#include "model/person.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

struct FirstRunOptions {
    std::string ledger_url;  // SQLite path or postgresql:// URL
    std::string key_file;    // must not exist yet
    NewPerson admin;         // role is forced to admin
    Time now{};
};

struct FirstRunResult {
    IssuedToken admin;  // print admin.token once; it is not stored in clear
    int schema_version = 0;
};

// Refuses (Error config) when the key file already exists or the ledger already has people.
FirstRunResult initialize(const FirstRunOptions& options);

}  // namespace datafix::ledger
