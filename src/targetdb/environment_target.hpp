// One environment's target database as datafix sees it: where to connect, which role to become,
// which cluster it must be (the pin) and the limits every session runs under.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace datafix::targetdb {

struct EnvironmentTarget {
    std::string name;      // "dev", "test", "prod": appears in messages
    std::string conninfo;  // passed to libpq unchanged (service, passfile, multi-host all work)
    std::string role;      // SET ROLE to this; never a superuser
    // pg_control_system()'s system_identifier; empty only in tests that check the refusal.
    std::string pinned_system_identifier;
    std::chrono::milliseconds lock_timeout{2000};
    std::chrono::milliseconds statement_timeout{60000};
    std::chrono::milliseconds idle_in_transaction_session_timeout{60000};
    std::string application_name = "datafix";
    // work_mem of datafix's sessions: the capture sorts the rows a change wrote by key, and a
    // data-modifying WITH keeps them until they are read. At PostgreSQL's default (4MB) a change
    // of 100,000 rows writes them through temporary files twice.
    std::string work_mem = "64MB";
    // Custom settings for the session, e.g. {"jwt.claims.sub", "<uuid>"} so the application's
    // triggers attribute the change.
    std::map<std::string, std::string> session_settings;
    // Tables that only ever grow (audit logs), as schema.table: the rows a change writes there
    // are shown in the evidence and never reverted; a revert adds its own rows to them.
    std::vector<std::string> append_only_tables;
    // Revert restores with session_replication_role = replica (triggers and foreign-key actions
    // off), so it can be exact. Needs GRANT SET ON PARAMETER session_replication_role TO role.
    bool revert_without_triggers = false;
    // A superuser login is refused: one statement could leave the role before any check runs
    // (dblink, server files, session_replication_role). Allowed only when the environment says
    // so, and then every evidence says it was.
    bool allow_superuser_login = false;
    // SECURITY DEFINER functions of the application that a change or verify query may call, as
    // "schema.function" (the configuration's vouch_security_definer): such a function runs with
    // its owner's privileges, so pre-flight refuses it unless the environment names it here.
    std::vector<std::string> vouch_security_definer;
};

}  // namespace datafix::targetdb
