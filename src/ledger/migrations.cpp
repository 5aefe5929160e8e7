// The ledger's schema, one numbered migration at a time, for each dialect. Private text lives
// in *_sealed columns (secretbox, see core/crypto); everything else is ids, names, hashes,
// normalized statements and counts. The audit table refuses UPDATE and DELETE.
#include "ledger/migrations.hpp"

#include <array>
#include <string_view>

#include "core/error.hpp"
#include "ledger/model_types.hpp"
#include "model/person.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

namespace {

struct Migration {
    int version;
    std::string_view sqlite;
    std::string_view postgresql;
};

// Types: SQLite stores integers and blobs as they come; PostgreSQL gets BIGINT and BYTEA.
constexpr std::string_view kV1Sqlite = R"sql(
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    active INTEGER NOT NULL,
    token_hash TEXT UNIQUE,
    created_at INTEGER NOT NULL
);
CREATE TABLE requests (
    number INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    reason_sealed BLOB NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    requested_date TEXT NOT NULL,
    ticket TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE TABLE claims (
    request INTEGER PRIMARY KEY REFERENCES requests(number),
    driver INTEGER NOT NULL REFERENCES users(id),
    claimed_at INTEGER NOT NULL,
    lease_expires_at INTEGER NOT NULL
);
CREATE TABLE pairs (
    request INTEGER PRIMARY KEY REFERENCES requests(number),
    pair INTEGER NOT NULL REFERENCES users(id),
    joined_at INTEGER NOT NULL
);
CREATE TABLE revisions (
    request INTEGER NOT NULL REFERENCES requests(number),
    number INTEGER NOT NULL,
    hash TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    change_sealed BLOB NOT NULL,
    verify_sealed BLOB NOT NULL,
    statements TEXT NOT NULL,
    all_rows INTEGER NOT NULL,
    attached_by INTEGER NOT NULL REFERENCES users(id),
    attached_at INTEGER NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE runs (
    request INTEGER NOT NULL REFERENCES requests(number),
    number INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    revision_hash TEXT NOT NULL,
    environment TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    started_by INTEGER NOT NULL REFERENCES users(id),
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    counts TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    xid INTEGER,
    backend_pid INTEGER,
    before_images_path TEXT NOT NULL,
    after_images_path TEXT NOT NULL,
    verify_sealed BLOB NOT NULL,
    failure_sealed BLOB NOT NULL,
    applies_run INTEGER NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE approvals (
    request INTEGER NOT NULL REFERENCES requests(number),
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    environment TEXT NOT NULL,
    revision INTEGER NOT NULL,
    revision_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_by INTEGER NOT NULL REFERENCES users(id),
    approved_at INTEGER NOT NULL,
    voided INTEGER NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE backups (
    request INTEGER NOT NULL REFERENCES requests(number),
    number INTEGER NOT NULL,
    environment TEXT NOT NULL,
    revision INTEGER NOT NULL,
    verified INTEGER NOT NULL,
    taken_at INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    location TEXT NOT NULL,
    recorded_by INTEGER NOT NULL REFERENCES users(id),
    PRIMARY KEY (request, number)
);
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    created_at INTEGER NOT NULL,
    event TEXT NOT NULL,
    request INTEGER REFERENCES requests(number),
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    actor INTEGER NOT NULL,
    action TEXT NOT NULL,
    request INTEGER,
    environment TEXT NOT NULL,
    statement_hash TEXT NOT NULL,
    evidence_fingerprint TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_request ON audit (request, seq);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
)sql";

constexpr std::string_view kV1Postgresql = R"sql(
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    active BIGINT NOT NULL,
    token_hash TEXT UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE requests (
    number BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    reason_sealed BYTEA NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES users(id),
    requested_date TEXT NOT NULL,
    ticket TEXT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE claims (
    request BIGINT PRIMARY KEY REFERENCES requests(number),
    driver BIGINT NOT NULL REFERENCES users(id),
    claimed_at BIGINT NOT NULL,
    lease_expires_at BIGINT NOT NULL
);
CREATE TABLE pairs (
    request BIGINT PRIMARY KEY REFERENCES requests(number),
    pair BIGINT NOT NULL REFERENCES users(id),
    joined_at BIGINT NOT NULL
);
CREATE TABLE revisions (
    request BIGINT NOT NULL REFERENCES requests(number),
    number BIGINT NOT NULL,
    hash TEXT NOT NULL,
    change_hash TEXT NOT NULL,
    change_sealed BYTEA NOT NULL,
    verify_sealed BYTEA NOT NULL,
    statements TEXT NOT NULL,
    all_rows BIGINT NOT NULL,
    attached_by BIGINT NOT NULL REFERENCES users(id),
    attached_at BIGINT NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE runs (
    request BIGINT NOT NULL REFERENCES requests(number),
    number BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    revision_hash TEXT NOT NULL,
    environment TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    started_by BIGINT NOT NULL REFERENCES users(id),
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    counts TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    xid BIGINT,
    backend_pid BIGINT,
    before_images_path TEXT NOT NULL,
    after_images_path TEXT NOT NULL,
    verify_sealed BYTEA NOT NULL,
    failure_sealed BYTEA NOT NULL,
    applies_run BIGINT NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE approvals (
    request BIGINT NOT NULL REFERENCES requests(number),
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    environment TEXT NOT NULL,
    revision BIGINT NOT NULL,
    revision_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    approved_by BIGINT NOT NULL REFERENCES users(id),
    approved_at BIGINT NOT NULL,
    voided BIGINT NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE TABLE backups (
    request BIGINT NOT NULL REFERENCES requests(number),
    number BIGINT NOT NULL,
    environment TEXT NOT NULL,
    revision BIGINT NOT NULL,
    verified BIGINT NOT NULL,
    taken_at BIGINT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    location TEXT NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users(id),
    PRIMARY KEY (request, number)
);
CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    event TEXT NOT NULL,
    request BIGINT REFERENCES requests(number),
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    last_error TEXT
);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor BIGINT NOT NULL,
    action TEXT NOT NULL,
    request BIGINT,
    environment TEXT NOT NULL,
    statement_hash TEXT NOT NULL,
    evidence_fingerprint TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_by_request ON audit (request, seq);
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE FUNCTION datafix_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION datafix_audit_append_only();
)sql";

// v2: the outbox is read by "undelivered and due" (every dispatch round, on every server) and
// by "undelivered of one request" (`datafix show`); delivered rows pile up and are never read
// there, so both indexes cover undelivered rows only. The same text suits both dialects.
constexpr std::string_view kV2 = R"sql(
CREATE INDEX notifications_due ON notifications (next_attempt_at, id)
    WHERE delivered_at IS NULL;
CREATE INDEX notifications_undelivered_by_request ON notifications (request, id)
    WHERE delivered_at IS NULL;
)sql";

// v3: four-eyes by history and tokens that expire. request_people keeps everyone who ever took
// part on a side of four-eyes (filled from what the ledger already knows: claims, revisions,
// runs, backups, the audit's claim entries and approvals); tokens get a scope, an expiry (set
// for existing tokens by migrate() right after this script) and the admin who issued
// them for someone else; a notification remembers the audit head when it was queued.
// BIGINT suits both dialects (SQLite gives it integer affinity).
constexpr std::string_view kV3 = R"sql(
CREATE TABLE request_people (
    request BIGINT NOT NULL REFERENCES requests(number),
    person BIGINT NOT NULL,
    side TEXT NOT NULL,
    PRIMARY KEY (request, side, person)
);
ALTER TABLE users ADD COLUMN token_scope TEXT NOT NULL DEFAULT 'full';
ALTER TABLE users ADD COLUMN token_expires_at BIGINT;
ALTER TABLE users ADD COLUMN token_issued_by BIGINT;
ALTER TABLE notifications ADD COLUMN audit_head TEXT NOT NULL DEFAULT '';
)sql";

// The same text suits both dialects.
constexpr std::string_view kV3Participants = R"sql(
INSERT INTO request_people (request, person, side)
SELECT request, person, 'driver' FROM (
    SELECT request, driver AS person FROM claims
    UNION SELECT request, attached_by FROM revisions
    UNION SELECT request, started_by FROM runs
    UNION SELECT request, recorded_by FROM backups
    UNION SELECT request, actor FROM audit
        WHERE action IN ('claim.taken', 'claim.renewed') AND request IS NOT NULL
) AS drove WHERE person <> 0;
INSERT INTO request_people (request, person, side)
SELECT DISTINCT request, approved_by, 'pair' FROM approvals WHERE kind <> 'product_owner';
INSERT INTO request_people (request, person, side)
SELECT DISTINCT request, approved_by, 'product_owner' FROM approvals WHERE kind = 'product_owner';
)sql";

// v4: run leases. A server holds a lease on each run it executes and renews it while it lives, so
// a run left running by a server that is gone is found and settled by another one. Kept apart
// from `runs`, whose rows change only with the run's state.
constexpr std::string_view kV4 = R"sql(
CREATE TABLE run_leases (
    request BIGINT NOT NULL,
    run BIGINT NOT NULL,
    owner TEXT NOT NULL,
    incarnation TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (request, run)
);
CREATE INDEX run_leases_incarnation ON run_leases (incarnation);
)sql";

// v5: a claimed outbox row names its owner, the server instance and its incarnation, and until
// when that owner vouched for it (renewed with its run leases by the same heartbeat). A row whose
// owner is gone (an earlier life of the same instance, or a lapsed heartbeat) is reclaimed at
// once instead of waiting out the delivery lease in next_attempt_at. Only claimed rows are
// indexed: there are few, and the heartbeat renews them by incarnation.
constexpr std::string_view kV5 = R"sql(
ALTER TABLE notifications ADD COLUMN claimed_by TEXT;
ALTER TABLE notifications ADD COLUMN claimed_incarnation TEXT;
ALTER TABLE notifications ADD COLUMN claim_expires_at BIGINT;
CREATE INDEX notifications_claimed ON notifications (claimed_incarnation)
    WHERE claimed_incarnation IS NOT NULL;
)sql";

// v6: backup jobs. A backup runs in the background and outlives the call that started it; the
// server that runs it (its instance name) takes it up again after a restart.
constexpr std::string_view kV6 = R"sql(
CREATE TABLE backup_jobs (
    request BIGINT NOT NULL,
    number BIGINT NOT NULL,
    environment TEXT NOT NULL,
    requested_by BIGINT NOT NULL,
    state TEXT NOT NULL,
    instance TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    backup BIGINT NOT NULL,
    error_code TEXT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (request, number)
);
CREATE INDEX backup_jobs_running ON backup_jobs (state, instance);
)sql";

// v7: sign-in through an OpenID Connect provider. A pending sign-in is taken once by its callback
// (DELETE ... RETURNING: one winner); a session is kept as its token's SHA-256 only.
constexpr std::string_view kV7Sqlite = R"sql(
CREATE TABLE pending_sign_ins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    code_verifier_sealed BLOB NOT NULL,
    return_to TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    identity TEXT NOT NULL,
    role TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);
)sql";
constexpr std::string_view kV7Postgresql = R"sql(
CREATE TABLE pending_sign_ins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    code_verifier_sealed BYTEA NOT NULL,
    return_to TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    identity TEXT NOT NULL,
    role TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);
)sql";
// v8: a request's conversation: comments and requests for changes, in order. The text is private
// like the reason (sealed); the audit trail records only that a comment was written.
constexpr std::string_view kV8Sqlite = R"sql(
CREATE TABLE comments (
    request INTEGER NOT NULL REFERENCES requests(number),
    number INTEGER NOT NULL,
    kind TEXT NOT NULL,
    text_sealed BLOB NOT NULL,
    author INTEGER NOT NULL REFERENCES users(id),
    written_at INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    after_run INTEGER NOT NULL,
    PRIMARY KEY (request, number)
);
)sql";
constexpr std::string_view kV8Postgresql = R"sql(
CREATE TABLE comments (
    request BIGINT NOT NULL REFERENCES requests(number),
    number BIGINT NOT NULL,
    kind TEXT NOT NULL,
    text_sealed BYTEA NOT NULL,
    author BIGINT NOT NULL REFERENCES users(id),
    written_at BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    after_run BIGINT NOT NULL,
    PRIMARY KEY (request, number)
);
)sql";

// v9: who created an account and which second admin confirmed it. Accounts from before stay
// unattributed (NULL): nobody is bound to an account whose creator the ledger never recorded.
constexpr std::string_view kV9 = R"sql(
ALTER TABLE users ADD COLUMN created_by BIGINT;
ALTER TABLE users ADD COLUMN confirmed_by BIGINT;
)sql";

constexpr std::array<Migration, 9> kMigrations{{
    {1, kV1Sqlite, kV1Postgresql},
    {2, kV2, kV2},
    {3, kV3, kV3},
    {4, kV4, kV4},
    {5, kV5, kV5},
    {6, kV6, kV6},
    {7, kV7Sqlite, kV7Postgresql},
    {8, kV8Sqlite, kV8Postgresql},
    {9, kV9, kV9},
}};

void ensure_version_table(SqlSession& session) {
    session.exec_script(session.dialect() == Dialect::sqlite
                            ? "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
                              "PRIMARY KEY, applied_at INTEGER NOT NULL)"
                            : "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT "
                              "PRIMARY KEY, applied_at BIGINT NOT NULL)");
}

}  // namespace

int latest_schema_version() {
    return kMigrations.back().version;
}

int current_schema_version(SqlSession& session) {
    auto rows = session.query("SELECT COALESCE(MAX(version), 0) FROM schema_version", {});
    return rows.empty() ? 0 : static_cast<int>(rows.front().integer(0));
}

int migrate(SqlSession& session) {
    {
        SqlTransaction tx(session, SqlTransaction::Mode::write);
        if (session.dialect() == Dialect::postgresql) {
            // Two servers starting at once: one migrates, the other waits and then sees it done.
            session.exec("SELECT pg_advisory_xact_lock(4242420001)");
        }
        ensure_version_table(session);
        tx.commit();
    }
    SqlTransaction tx(session, SqlTransaction::Mode::write);
    if (session.dialect() == Dialect::postgresql) {
        session.exec("SELECT pg_advisory_xact_lock(4242420001)");
    }
    int version = current_schema_version(session);
    if (version > latest_schema_version()) {
        throw Error(ErrorCode::config,
                    "the ledger's schema is version " + std::to_string(version) +
                        ", newer than this datafix (" + std::to_string(latest_schema_version()) +
                        ")",
                    "upgrade datafix to a version that knows this ledger");
    }
    for (const Migration& migration : kMigrations) {
        if (migration.version <= version) {
            continue;
        }
        session.exec_script(session.dialect() == Dialect::sqlite ? migration.sqlite
                                                                 : migration.postgresql);
        if (migration.version == 3) {
            session.exec_script(kV3Participants);
            // Tokens issued before expiry existed expire one default lifetime from now.
            session.exec("UPDATE users SET token_expires_at = ? WHERE token_expires_at IS NULL",
                         {SqlValue::of(to_millis(wall_clock_now() + kDefaultTokenLifetime))});
        }
        session.exec("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                     {SqlValue::of(std::int64_t{migration.version}),
                      SqlValue::of(to_millis(wall_clock_now()))});
        version = migration.version;
    }
    tx.commit();
    return version;
}

}  // namespace datafix::ledger
