// The ledger: the one store of people, change requests and the audit trail, behind one
// interface with two backends — SQLite (one file, WAL; the default) and PostgreSQL (shared by
// several servers). Every change to a request goes through transact(): the request is loaded and
// locked (BEGIN IMMEDIATE / SELECT ... FOR UPDATE), the caller decides on it, and the new state
// and its audit entries are written in the same transaction — or nothing is.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "ledger/model_types.hpp"
#include "ledger/notification.hpp"
#include "ledger/sign_in.hpp"
#include "model/audit.hpp"
#include "model/person.hpp"
#include "model/request_state.hpp"
#include "model/time.hpp"

namespace datafix::ledger {

// What a transact() callback returns: commit the (modified) state with these audit events, or
// leave the ledger untouched.
struct Mutation {
    bool commit = false;
    std::vector<AuditEvent> events;
    // Queued in the outbox in the same transaction as the step: a committed step always has
    // its messages, and a step that did not commit has none.
    std::vector<NewNotificationRow> notifications;
    Time now{};  // when the notifications are due
};

using MutationFn = std::function<Mutation(RequestState&)>;

// The messages of a new request, composed from its state once its number is assigned and queued
// in the transaction that stores it.
using NewRequestMessages = std::function<std::vector<NewNotificationRow>(const RequestState&)>;
// The same for a new account.
using NewAccountMessages = std::function<std::vector<NewNotificationRow>(const Person&)>;

// The key of the audit chain's MACs (a file outside the ledger). `new_key`: the file was created
// just now, so an existing unkeyed chain (a ledger from before keyed chains) is keyed from its
// end; an existing key is never taken for a chain that has no keyed entry yet.
struct AuditKeying {
    Key key;
    bool new_key = false;
};

// Called after each committed transaction that appended audit entries, with the last of them:
// the server publishes the head outside the ledger.
using AuditPublisher = std::function<void(const AuditEntry&)>;

struct TransactResult {
    bool found = false;      // no such request: the callback was not called
    bool committed = false;  // the callback asked to commit and the commit succeeded
    RequestState state;      // after the change (or as loaded, when not committed)
};

// A row of a list view: no SQL text, no verify results.
struct RequestSummary {
    ChangeRequest request;
    std::optional<Claim> claim;
    std::optional<Pair> pair;
    int revision = 0;  // 0: no revision yet
    std::string revision_hash;
    std::int64_t version = 0;
};

// A backup the server takes in the background for one request and environment: a job outlives
// the HTTP call that started it. A job left running by an earlier life of its server is taken
// again when that server starts (its partial file is removed first); a cancel or a failure ends it.
enum class BackupJobState { running, succeeded, failed, cancelled };

struct BackupJob {
    RequestNumber request = 0;
    int number = 0;  // per request, from 1
    std::string environment;
    UserId requested_by = 0;
    BackupJobState state = BackupJobState::running;
    std::string instance;  // the server that runs it ([server] instance)
    int attempts = 1;      // 1 + how many times a restart took it up again
    Time started_at{};
    std::optional<Time> finished_at;
    int backup = 0;          // succeeded: the recorded backup's number
    std::string error_code;  // failed or cancelled: the error's code name
    std::string error;       // its message (names and paths only, never a row value)

    bool operator==(const BackupJob&) const = default;
};

std::string_view backup_job_state_name(BackupJobState state);
std::optional<BackupJobState> parse_backup_job_state(std::string_view name);

// A running run's lease: which server executes it, and until when that server has vouched for
// it. The server renews its leases while it lives; a run whose lease lapsed belongs to a server
// that is gone (killed, hung, cut off), and any server on the ledger may settle it.
struct RunLease {
    RequestNumber request = 0;
    int run = 0;
    std::string owner;        // the server instance (stable across its restarts)
    std::string incarnation;  // that server process (new at every start)
    Time expires_at{};
};

// A run the ledger shows running, with its lease when it has one.
struct RunningRun {
    RequestNumber request = 0;
    int run = 0;
    Time started_at{};
    std::optional<RunLease> lease;
};

// Counts for monitoring (the server's /metrics): nothing private, only statuses and numbers.
struct LedgerStatistics {
    std::map<std::string, std::int64_t> requests_by_status;
    // (run kind, run state) -> runs, e.g. ("apply", "committed").
    std::map<std::pair<std::string, std::string>, std::int64_t> runs_by_kind_and_state;
    std::int64_t undelivered_notifications = 0;
    // Since the oldest undelivered notification was queued (none: nothing waits).
    std::optional<std::chrono::milliseconds> oldest_undelivered_age;
};

struct RequestFilter {
    std::optional<RequestStatus> status;
    int limit = 100;
};

class Ledger {
  public:
    // "postgresql://..." or "postgres://..." (a libpq URL), "postgresql:KEYWORDS" (a libpq
    // keyword conninfo, e.g. "postgresql:service=datafix-ledger"), otherwise a SQLite file path (an
    // optional "sqlite:" prefix is accepted). Creates the schema when missing, applies pending
    // migrations, and refuses a ledger whose schema is newer than this binary (Error config). `key`
    // seals private text at rest. With `audit`, the audit chain is keyed: a chain with no keyed
    // entry gets its "audit.keyed" entry when it is empty or the key is new, and otherwise (or
    // when the key does not match the chain's keyed entry) Error(config). Without it, entries
    // are SHA-256 chained and appending to a keyed chain is Error(config).
    static std::unique_ptr<Ledger> open(const std::string& url, const Key& key,
                                        const AuditKeying* audit = nullptr);

    virtual ~Ledger() = default;
    Ledger(const Ledger&) = delete;
    Ledger& operator=(const Ledger&) = delete;

    virtual int schema_version() = 0;

    // --- people -----------------------------------------------------------------------------
    // Creates a person with a new token (returned once). `event` gives actor and time; the
    // ledger records "user.created" and, when the actor is a person (an admin), that they
    // created the account; `messages` are composed once its id is assigned and queued in the same
    // transaction. Error(invalid_input) when the email is taken.
    virtual IssuedToken create_user(const NewPerson& person, const AuditEvent& event,
                                    const TokenOptions& token = {},
                                    const NewAccountMessages& messages = {}) = 0;
    // The active person holding `token`, or nothing (unknown, revoked, deactivated). An expired
    // token is returned with its expiry: the caller refuses it, so it can say why.
    virtual std::optional<Person> authenticate(std::string_view token) = 0;
    virtual std::optional<Person> find_user(UserId id) = 0;
    virtual std::optional<Person> find_user_by_email(std::string_view email) = 0;
    virtual std::vector<Person> list_users() = 0;
    virtual std::int64_t count_users() = 0;
    // Deactivating also revokes the token. false: no such person.
    virtual bool set_user_active(UserId id, bool active, const AuditEvent& event) = 0;
    // Gives a person another role (audited "user.role_changed" with the old and new role).
    // false: no such person.
    virtual bool set_user_role(UserId id, Role role, const AuditEvent& event) = 0;
    // A new token replaces the old one (which stops working at once). When event.actor is not
    // the person, the new token is marked issued by event.actor and `notices` (telling the
    // owner) are queued in the same transaction; the person's own rotation keeps the mark.
    virtual std::optional<IssuedToken> rotate_token(
        UserId id, const AuditEvent& event, const TokenOptions& token = {},
        const std::vector<NewNotificationRow>& notices = {}) = 0;

    // Records event.actor as the second admin who confirmed an account an admin created, with
    // "user.confirmed". Who may confirm is the caller's
    // rule (workflow::check_account_confirmation). Nothing: no such person, not created by an
    // admin, or confirmed already.
    virtual std::optional<Person> confirm_user(UserId id, const AuditEvent& event) = 0;

    // --- sign-in sessions ---------------------------------------------------------------------
    // Keeps a sign-in the server started until its callback comes back with the same state.
    virtual void begin_sign_in(const PendingSignIn& pending) = 0;
    // The pending sign-in of `state`, removed in the same statement: of two callbacks with one
    // state (a replay) only one gets it. Nothing when unknown, taken already or expired.
    virtual std::optional<PendingSignIn> take_sign_in(std::string_view state, Time now) = 0;
    // A new session for a person the provider vouched for; records "session.signed_in" (kind,
    // provider, identity) in the same transaction. The token is returned once.
    virtual std::string open_session(const NewSession& session, const AuditEvent& event) = 0;
    // The session's active person; an expired session is returned with its expiry (the caller
    // refuses it, so it can say why). Nothing when unknown, ended or the person is deactivated.
    virtual std::optional<SessionPerson> authenticate_session(std::string_view token) = 0;
    // Ends the session and records "session.signed_out". false: unknown or ended already.
    virtual bool close_session(std::string_view token, const AuditEvent& event) = 0;

    // --- requests ---------------------------------------------------------------------------
    // Stores a new request (its number is assigned here) and records `event` (request filled
    // in by the ledger) and queues `messages` (due at event.at) in the same transaction.
    virtual RequestState create_request(const ChangeRequest& request, const AuditEvent& event,
                                        const NewRequestMessages& messages = {}) = 0;
    virtual std::optional<RequestState> load(RequestNumber number) = 0;
    virtual std::vector<RequestSummary> list_requests(const RequestFilter& filter) = 0;
    // Loads and locks the request, calls `fn` once, and when it returns commit=true persists the
    // state it modified plus the events, atomically. Exceptions from `fn` roll back and
    // propagate. Concurrent transact() calls on one request are serialized by the store.
    virtual TransactResult transact(RequestNumber number, const MutationFn& fn) = 0;

    // --- audit ------------------------------------------------------------------------------
    // Appends an event not tied to a request change (e.g. a refused login).
    virtual AuditEntry append_audit(const AuditEvent& event) = 0;
    virtual std::vector<AuditEntry> read_audit(const AuditQuery& query) = 0;
    // Walks the whole chain; the first broken entry (edited, reordered, deleted) and why; with
    // `anchor`, also that the chain still holds that published head (rewrite, truncation).
    // Without the audit key a keyed chain is reported not verifiable.
    virtual AuditCheck verify_audit(const std::optional<AuditAnchor>& anchor = std::nullopt) = 0;
    // The last entry (nothing for an empty chain).
    virtual std::optional<AuditEntry> audit_head() = 0;
    // Set once, before the ledger is shared.
    virtual void set_audit_publisher(AuditPublisher publisher) = 0;

    // --- run leases -------------------------------------------------------------------------
    // Takes or replaces the lease of a run.
    virtual void hold_run_lease(const RunLease& lease) = 0;
    // Moves the expiry of every lease `incarnation` holds, and of its claims on outbox rows;
    // returns how many run leases it holds.
    virtual int renew_run_leases(const std::string& incarnation, Time expires_at) = 0;
    virtual void release_run_lease(RequestNumber request, int run) = 0;
    // Every run the ledger shows running, oldest first, with its lease.
    virtual std::vector<RunningRun> running_runs() = 0;

    // --- backup jobs ------------------------------------------------------------------------
    // Records a new running job of `job.request` (its number is assigned: the next for the
    // request) unless one of the same environment is running already; then returns that one's
    // number as negative.
    virtual int start_backup_job(const BackupJob& job) = 0;
    // Writes the state, attempts, end, backup and error of job (request, number).
    virtual void update_backup_job(const BackupJob& job) = 0;
    // A request's jobs, oldest first.
    virtual std::vector<BackupJob> backup_jobs(RequestNumber request) = 0;
    // Every running job of server `instance`, oldest first.
    virtual std::vector<BackupJob> running_backup_jobs(const std::string& instance) = 0;

    // --- notifications outbox ---------------------------------------------------------------
    // Queues a notification, due at once (next_attempt_at = now). Returns its id.
    virtual NotificationId enqueue_notification(const NewNotificationRow& row, Time now) = 0;
    // Claims up to `limit` undelivered rows due at `now` (oldest first) for one delivery attempt
    // by leasing them: their next_attempt_at moves to now + lease, so no other dispatcher — in
    // this server or another on the same ledger — gets them until the lease ends (or the
    // holder marks them). The lease must outlast the delivery of the whole batch. With `owner`,
    // the rows name it (see reclaim_notifications), and the lease is only the last resort for an
    // owner that lives but is stuck; without one, a holder that dies leaves its rows due again
    // only after the lease.
    virtual std::vector<NotificationRow> claim_due_notifications(
        Time now, int limit, std::chrono::milliseconds lease,
        const std::optional<NotificationClaim>& owner = std::nullopt) = 0;
    // Makes due at `now` every undelivered row claimed by an owner that is gone: another
    // incarnation of instance `owner` (an earlier life of this server), or any owner whose claim
    // expired unrenewed (a server killed, hung or cut off). The claims of `incarnation` itself
    // are left alone. Returns how many rows it reclaimed.
    virtual int reclaim_notifications(const std::string& owner, const std::string& incarnation,
                                      Time now) = 0;
    // Whether `incarnation` still holds its claim on the undelivered row `id` (checked before
    // each delivery: a server that hung may wake to find its batch reclaimed).
    virtual bool holds_notification_claim(NotificationId id, const std::string& incarnation) = 0;
    // Marking ends the row's claim.
    // attempts + 1, delivered_at = now, last_error cleared. false: no such undelivered row.
    virtual bool mark_notification_delivered(NotificationId id, Time now) = 0;
    // attempts + 1, last_error, next_attempt_at. false: no such undelivered row.
    virtual bool mark_notification_failed(NotificationId id, const std::string& error,
                                          Time next_attempt) = 0;
    // Everything not delivered yet, oldest first; optionally of one request.
    virtual std::vector<NotificationRow> undelivered_notifications(
        std::optional<RequestNumber> request = std::nullopt) = 0;

    // --- monitoring -------------------------------------------------------------------------
    // Requests by status, runs by kind and state, the notifications still waiting at `now`.
    virtual LedgerStatistics statistics(Time now) = 0;

  protected:
    Ledger() = default;
};

}  // namespace datafix::ledger
