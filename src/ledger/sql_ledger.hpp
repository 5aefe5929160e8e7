// Internal to the ledger: the Ledger written once over SqlSession, for both backends. The
// backend only supplies sessions (and their dialect); the logic, the locking order and the
// sealing of private text are the same for SQLite and PostgreSQL.
#pragma once

#include <optional>
#include <string>

#include "core/crypto.hpp"
#include "ledger/ledger.hpp"
#include "ledger/session_pool.hpp"

namespace datafix::ledger {

class SqlLedger final : public Ledger {
  public:
    SqlLedger(SessionPool::Factory factory, const Key& key, const AuditKeying* audit);

    int schema_version() override;
    // At open, with an audit key: the chain's "audit.keyed" entry exists (or is written) and
    // matches the key.
    void key_audit_chain(bool new_key);

    IssuedToken create_user(const NewPerson& person, const AuditEvent& event,
                            const TokenOptions& token = {},
                            const NewAccountMessages& messages = {}) override;
    std::optional<Person> confirm_user(UserId id, const AuditEvent& event) override;
    std::optional<Person> authenticate(std::string_view token) override;
    std::optional<Person> find_user(UserId id) override;
    std::optional<Person> find_user_by_email(std::string_view email) override;
    std::vector<Person> list_users() override;
    std::int64_t count_users() override;
    bool set_user_active(UserId id, bool active, const AuditEvent& event) override;
    bool set_user_role(UserId id, Role role, const AuditEvent& event) override;
    std::optional<IssuedToken> rotate_token(
        UserId id, const AuditEvent& event, const TokenOptions& token = {},
        const std::vector<NewNotificationRow>& notices = {}) override;

    void begin_sign_in(const PendingSignIn& pending) override;
    std::optional<PendingSignIn> take_sign_in(std::string_view state, Time now) override;
    std::string open_session(const NewSession& session, const AuditEvent& event) override;
    std::optional<SessionPerson> authenticate_session(std::string_view token) override;
    bool close_session(std::string_view token, const AuditEvent& event) override;

    RequestState create_request(const ChangeRequest& request, const AuditEvent& event,
                                const NewRequestMessages& messages = {}) override;
    std::optional<RequestState> load(RequestNumber number) override;
    std::vector<RequestSummary> list_requests(const RequestFilter& filter) override;
    TransactResult transact(RequestNumber number, const MutationFn& fn) override;

    AuditEntry append_audit(const AuditEvent& event) override;
    std::vector<AuditEntry> read_audit(const AuditQuery& query) override;
    AuditCheck verify_audit(const std::optional<AuditAnchor>& anchor = std::nullopt) override;
    std::optional<AuditEntry> audit_head() override;
    void set_audit_publisher(AuditPublisher publisher) override;

    void hold_run_lease(const RunLease& lease) override;
    int renew_run_leases(const std::string& incarnation, Time expires_at) override;
    void release_run_lease(RequestNumber request, int run) override;
    std::vector<RunningRun> running_runs() override;

    int start_backup_job(const BackupJob& job) override;
    void update_backup_job(const BackupJob& job) override;
    std::vector<BackupJob> backup_jobs(RequestNumber request) override;
    std::vector<BackupJob> running_backup_jobs(const std::string& instance) override;

    NotificationId enqueue_notification(const NewNotificationRow& row, Time now) override;
    std::vector<NotificationRow> claim_due_notifications(
        Time now, int limit, std::chrono::milliseconds lease,
        const std::optional<NotificationClaim>& owner = std::nullopt) override;
    int reclaim_notifications(const std::string& owner, const std::string& incarnation,
                              Time now) override;
    bool holds_notification_claim(NotificationId id, const std::string& incarnation) override;
    bool mark_notification_delivered(NotificationId id, Time now) override;
    bool mark_notification_failed(NotificationId id, const std::string& error,
                                  Time next_attempt) override;
    std::vector<NotificationRow> undelivered_notifications(
        std::optional<RequestNumber> request = std::nullopt) override;

    LedgerStatistics statistics(Time now) override;

  private:
    // Each *_in runs inside the caller's transaction on `session`.
    std::optional<Person> user_where(std::string_view where, const std::vector<SqlValue>& params);
    AuditEntry append_audit_in(SqlSession& session, const AuditEvent& event);
    // After commit: hands the last appended entry to the publisher.
    void publish(const AuditEntry& entry);
    NotificationId insert_notification_in(SqlSession& session, const NewNotificationRow& row,
                                          Time now);
    std::optional<RequestState> load_in(SqlSession& session, RequestNumber number, bool lock);
    void save_in(SqlSession& session, const RequestState& before, const RequestState& after);

    std::string seal_text(const std::string& text) const;
    std::string open_text(const std::string& sealed) const;

    Key key_;
    std::optional<Key> audit_key_;
    AuditPublisher publisher_;
    SessionPool pool_;
};

}  // namespace datafix::ledger
