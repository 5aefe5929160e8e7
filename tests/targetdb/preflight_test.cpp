// Pre-flight on a real cluster: FORCE'd row security hiding rows from the owner role, a missing
// grant, a trigger refusing archived rows, the audit trigger and a cascade as indirect writes,
// locks held by other sessions, and estimates far from the declared count. Every case also
// checks that building the report (and the failing preview next to it) changed nothing.
#include <chrono>
#include <nlohmann/json.hpp>

#include "target_support.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/preflight.hpp"
#include "targetdb/preflight_catalog.hpp"
#include "targetdb/preflight_estimate.hpp"
#include "targetdb/preflight_explain.hpp"
#include "targetdb/preflight_json.hpp"
#include "targetdb/preflight_render.hpp"

namespace datafix::targetdb::test {
namespace {

const Finding* finding(const PreflightReport& report, FindingKind kind) {
    for (const auto& f : report.findings) {
        if (f.kind == kind) {
            return &f;
        }
    }
    return nullptr;
}

const TriggerFact* trigger(const TableReport& table, const std::string& name) {
    for (const auto& t : table.triggers) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

const CommandAccess* access(const TableReport& table, PolicyCommand command) {
    for (const auto& a : table.row_security.commands) {
        if (a.command == command) {
            return &a;
        }
    }
    return nullptr;
}

// A cluster-wide grant for one test, taken back when it ends (also when it fails).
struct TemporaryGrant {
    const TestDatabase& db;
    std::string grant;
    TemporaryGrant(const TestDatabase& d, std::string g) : db(d), grant(std::move(g)) {
        db.psql("GRANT " + grant);
    }
    ~TemporaryGrant() {
        try {
            db.psql("REVOKE " + grant);
        } catch (...) {
            // The cluster goes away with the test process.
        }
    }
};

constexpr const char* kUpdateIntake =
    "UPDATE app_public.application SET form_data = form_data || '{\"checked\": true}' "
    "WHERE intake_id = 2;";

TEST(PreflightUnit, FarMeansAnOrderOfMagnitudeAndMoreThanTenRows) {
    EXPECT_FALSE(estimate_is_far(200, 200));
    EXPECT_FALSE(estimate_is_far(200, 21));
    EXPECT_TRUE(estimate_is_far(200, 19));
    EXPECT_TRUE(estimate_is_far(1, 200));
    EXPECT_FALSE(estimate_is_far(1, 11)) << "ten rows apart is never far";
    EXPECT_TRUE(estimate_is_far(0, 12));
    EXPECT_FALSE(estimate_is_far(5, 0));
    EXPECT_FALSE(estimate_is_far(100, 15));
    EXPECT_TRUE(estimate_is_far(100, 9));
}

TEST(PreflightUnit, FunctionBodyNamesWrittenTablesAndRaises) {
    auto audit = inspect_function_body(
        "BEGIN\n  -- UPDATE app_public.not_this_one\n"
        "  INSERT INTO app_public.record_version (op) VALUES (TG_OP);\n"
        "  IF TG_OP = 'UPDATE' THEN RAISE NOTICE 'x'; END IF;\n  RETURN NULL;\nEND");
    EXPECT_EQ(audit.writes, std::vector<std::string>{"app_public.record_version"});
    EXPECT_FALSE(audit.may_raise);
    EXPECT_TRUE(audit.returns_null);

    auto refusal = inspect_function_body(
        "BEGIN IF OLD.archived_at IS NOT NULL THEN RAISE EXCEPTION 'no'; END IF; "
        "INSERT INTO log AS l VALUES (1) ON CONFLICT DO UPDATE SET n = 1; RETURN NEW; END");
    EXPECT_EQ(refusal.writes, std::vector<std::string>{"log"});
    EXPECT_TRUE(refusal.may_raise);
    EXPECT_FALSE(refusal.returns_null);
}

TEST(PreflightUnit, EstimateIsTheModifyTableInput) {
    EXPECT_EQ(rows_from_explain_json(
                  R"([{"Plan": {"Node Type": "ModifyTable", "Plan Rows": 0, "Plans": [
                        {"Node Type": "CTE Scan", "Parent Relationship": "InitPlan",
                         "Plan Rows": 5},
                        {"Node Type": "Seq Scan", "Parent Relationship": "Outer",
                         "Plan Rows": 42}]}}])"),
              42);
    EXPECT_EQ(rows_from_explain_json("[]"), std::nullopt);
    EXPECT_EQ(rows_from_explain_json("not json"), std::nullopt);
}

TEST(PreflightUnit, DatabaseFailureIsReadFromTheConnectionsError) {
    Error e(ErrorCode::database, "dev: permission denied for table grant_probe (SQLSTATE 42501)");
    auto f = database_failure_from(e);
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->sqlstate, "42501");
    EXPECT_EQ(f->message, "permission denied for table grant_probe");
    EXPECT_FALSE(database_failure_from(Error(ErrorCode::count_mismatch, "x")).has_value());
}

TEST(Preflight, ForceRowSecurityWithoutPolicyHidesEveryRowFromTheOwnerRole) {
    TestDatabase db(dev());
    db.psql("DROP POLICY app_owner_all ON app_public.application");
    auto before = db.state();
    auto plan = plan_for(kUpdateIntake, {200});

    auto report = build_preflight(db.target(), plan);
    EXPECT_EQ(db.state(), before) << "pre-flight must not write";

    EXPECT_EQ(report.role, "app_owner");
    EXPECT_EQ(report.login, "datafix_login");
    // The written table, and the audit log its trigger writes: the change's write closure.
    ASSERT_EQ(report.tables.size(), 2u);
    EXPECT_EQ(report.tables[1].qualified, "app_public.record_version");
    EXPECT_EQ(report.tables[1].reached_by,
              std::vector<std::string>{"trigger _500_audit on app_public.application"});
    const auto& t = report.tables[0];
    EXPECT_EQ(t.qualified, "app_public.application");
    EXPECT_EQ(t.owner, "app_owner");
    EXPECT_TRUE(t.row_security.enabled);
    EXPECT_TRUE(t.row_security.forced);
    EXPECT_TRUE(t.row_security.role_is_owner);
    EXPECT_FALSE(t.row_security.role_bypasses);
    EXPECT_TRUE(t.row_security.applies) << "FORCE applies the policies to the owner";
    ASSERT_NE(access(t, PolicyCommand::update), nullptr);
    EXPECT_TRUE(access(t, PolicyCommand::update)->denied);
    EXPECT_TRUE(access(t, PolicyCommand::select)->denied);
    ASSERT_EQ(t.row_security.policies.size(), 1u);
    EXPECT_EQ(t.row_security.policies[0].name, "app_web_own");
    EXPECT_FALSE(t.row_security.policies[0].applies_to_role);
    EXPECT_TRUE(t.privileges.missing.empty()) << "the grants are all there; the policy is not";

    const auto* hidden = finding(report, FindingKind::rows_hidden_by_rls);
    ASSERT_NE(hidden, nullptr);
    EXPECT_EQ(hidden->severity, Severity::blocker);
    EXPECT_TRUE(has(hidden->message,
                    "app_public.application has FORCE ROW LEVEL SECURITY and "
                    "no policy lets role app_owner UPDATE"))
        << hidden->message;
    EXPECT_TRUE(report.has_blockers());

    ASSERT_EQ(report.statements.size(), 1u);
    const auto& s = report.statements[0];
    EXPECT_TRUE(has(s.normalized, "$")) << "only the normalized statement is reported";
    EXPECT_FALSE(has(s.normalized, "checked"));
    EXPECT_EQ(s.declared, 200);
    ASSERT_TRUE(s.estimated.has_value()) << s.estimate_unavailable;
    EXPECT_LE(*s.estimated, 1) << "the planner sees the policy's false filter";
    EXPECT_TRUE(s.estimate_far);

    auto json = preflight_to_json(report);
    EXPECT_EQ(json["ok"], false);
    EXPECT_EQ(json["tables"][0]["row_security"]["forced"], true);
    EXPECT_FALSE(has(json.dump(), "checked")) << "no literal values in the report";
    auto text = render_preflight(report);
    EXPECT_TRUE(has(text, "NO policy lets app_owner UPDATE")) << text;

    // The run the report predicted: 0 rows, rolled back, explained.
    TempImages images;
    auto session = Session::open(db.target());
    auto message =
        expect_error(ErrorCode::count_mismatch, [&] { session.preview(plan, images.store); });
    EXPECT_TRUE(has(message, "changed 0 rows")) << message;
    EXPECT_TRUE(has(message,
                    "changed 0 rows; the request declares 200; the transaction was rolled "
                    "back; 0 rows where 200 were declared: app_public.application has "
                    "FORCE ROW LEVEL SECURITY and no policy lets role app_owner UPDATE"))
        << "the preview explains the mismatch itself: " << message;
    ASSERT_NE(session.last_preflight(), nullptr) << "every preview builds the pre-flight report";
    EXPECT_TRUE(session.last_preflight()->has_blockers());
    auto why = explain_mismatch(report, 1, 200, 0);
    EXPECT_TRUE(has(why.message,
                    "0 rows where 200 were declared: app_public.application has "
                    "FORCE ROW LEVEL SECURITY and no policy lets role app_owner "
                    "UPDATE"))
        << why.message;
    EXPECT_TRUE(has(why.hint, "TO app_owner")) << why.hint;
    EXPECT_TRUE(has(why.text(), "; HINT: "));
    EXPECT_EQ(db.state(), before);
}

TEST(Preflight, MissingUpdateGrantIsNamedBeforeAndAfterTheRun) {
    TestDatabase db(dev());
    db.psql(
        "CREATE TABLE app_public.grant_probe (id integer PRIMARY KEY, note text);"
        "INSERT INTO app_public.grant_probe SELECT i, 'fabricated' FROM generate_series(1, 20) i;"
        "GRANT SELECT ON app_public.grant_probe TO app_owner;");
    auto before = db.state();
    auto probe_before = db.psql(
        "SELECT md5(string_agg(t::text, ',' ORDER BY id)) "
        "FROM app_public.grant_probe t");
    auto plan = plan_for("UPDATE app_public.grant_probe SET note = 'checked' WHERE id <= 5;", {5});

    auto report = build_preflight(db.target(), plan);

    ASSERT_EQ(report.tables.size(), 1u);
    const auto& t = report.tables[0];
    EXPECT_EQ(t.owner, "dfsuper");
    EXPECT_TRUE(t.privileges.schema_usage);
    EXPECT_EQ(t.privileges.missing, std::vector<Privilege>{Privilege::update});
    EXPECT_EQ(t.privileges.privileges.at(0).grant, Grant::table) << "SELECT is granted";
    EXPECT_TRUE(t.privileges.privileges.at(2).required) << "UPDATE is needed";
    EXPECT_FALSE(t.row_security.enabled);
    const auto* missing = finding(report, FindingKind::missing_privilege);
    ASSERT_NE(missing, nullptr);
    EXPECT_TRUE(has(missing->message, "role app_owner lacks UPDATE on app_public.grant_probe"))
        << missing->message;
    EXPECT_TRUE(has(missing->hint, "GRANT UPDATE ON app_public.grant_probe TO app_owner"));
    const auto& s = report.statements.at(0);
    EXPECT_FALSE(s.estimated.has_value()) << "EXPLAIN checks privileges too";
    EXPECT_TRUE(has(s.estimate_unavailable, "permission denied for table grant_probe"))
        << s.estimate_unavailable;

    TempImages images;
    auto session = Session::open(db.target());
    try {
        session.preview(plan, images.store);
        ADD_FAILURE() << "the preview must fail without the UPDATE grant";
    } catch (const Error& e) {
        auto failure = database_failure_from(e);
        ASSERT_TRUE(failure.has_value()) << e.describe();
        EXPECT_EQ(failure->sqlstate, "42501");
        EXPECT_TRUE(has(e.describe(), "role app_owner lacks UPDATE on app_public.grant_probe"))
            << "the preview explains the error itself: " << e.describe();
        auto why = explain_database_error(report, 1, *failure);
        EXPECT_TRUE(has(why.message,
                        "role app_owner lacks UPDATE on app_public.grant_probe (it "
                        "has SELECT; the table is owned by dfsuper)"))
            << why.message;
        EXPECT_TRUE(has(why.hint, "GRANT UPDATE ON app_public.grant_probe TO app_owner"));
        auto explained = explain_failure(report, 1, e);
        EXPECT_EQ(explained.message(), with_explanation(e, why).message());
        EXPECT_EQ(explained.code(), ErrorCode::database);
        EXPECT_TRUE(has(explained.describe(), "HINT: GRANT UPDATE")) << explained.describe();
    }
    EXPECT_EQ(db.state(), before);
    EXPECT_EQ(db.psql("SELECT md5(string_agg(t::text, ',' ORDER BY id)) "
                      "FROM app_public.grant_probe t"),
              probe_before);
}

TEST(Preflight, ArchivedRowRefusalIsTracedToItsTrigger) {
    TestDatabase db(dev());
    auto id = db.psql("SELECT min(id) FROM app_public.application");
    db.psql(
        "SET session_replication_role = replica; "
        "UPDATE app_public.application SET archived_at = now() WHERE id = " +
        id);
    auto before = db.state();
    auto plan = plan_for(
        "UPDATE app_public.application SET form_data = form_data || "
        "'{\"checked\": true}' WHERE id = " +
            id + ";",
        {1});

    auto report = build_preflight(db.target(), plan);
    EXPECT_EQ(db.state(), before);
    EXPECT_FALSE(report.has_blockers()) << render_preflight(report);
    const auto& t = report.tables.at(0);
    const auto* refusal = trigger(t, "_050_refuse_archived");
    ASSERT_NE(refusal, nullptr);
    EXPECT_TRUE(refusal->fires);
    EXPECT_EQ(refusal->timing, TriggerTiming::before);
    EXPECT_EQ(refusal->level, TriggerLevel::row);
    EXPECT_EQ(refusal->events, std::vector<std::string>{"UPDATE"});
    EXPECT_EQ(refusal->function, "app_public.refuse_archived_update()");
    EXPECT_TRUE(refusal->may_raise);
    EXPECT_FALSE(trigger(t, "_100_timestamps")->may_raise);
    EXPECT_EQ(report.statements.at(0).estimated, 1);
    EXPECT_FALSE(report.statements.at(0).estimate_far);

    TempImages images;
    auto session = Session::open(db.target());
    try {
        session.preview(plan, images.store);
        ADD_FAILURE() << "the trigger must refuse the archived row";
    } catch (const Error& e) {
        auto failure = database_failure_from(e);
        ASSERT_TRUE(failure.has_value()) << e.describe();
        EXPECT_EQ(failure->sqlstate, "23514");
        EXPECT_TRUE(has(e.message(), "raised by trigger _050_refuse_archived"))
            << "the preview names the trigger itself: " << e.message();
        // The connection keeps the raising function (not the rest of CONTEXT), which names the
        // trigger directly.
        auto why = explain_database_error(report, 1, *failure);
        EXPECT_TRUE(has(why.message,
                        "raised by trigger _050_refuse_archived (BEFORE UPDATE FOR "
                        "EACH ROW on app_public.application, function "
                        "app_public.refuse_archived_update())"))
            << why.message;
        EXPECT_FALSE(has(why.message, "the only trigger")) << why.message;
        // Without a function the trigger is found by elimination.
        failure->context.clear();
        auto eliminated = explain_database_error(report, 1, *failure);
        EXPECT_TRUE(has(eliminated.message,
                        "raised by trigger _050_refuse_archived (BEFORE UPDATE FOR "
                        "EACH ROW on app_public.application, function "
                        "app_public.refuse_archived_update())"))
            << eliminated.message;
        EXPECT_TRUE(has(eliminated.message, "the only trigger")) << eliminated.message;
        // With PostgreSQL's CONTEXT the function names the trigger directly.
        failure->context = "PL/pgSQL function app_public.refuse_archived_update() line 3 at RAISE";
        auto named = explain_database_error(report, 1, *failure);
        EXPECT_TRUE(has(named.message, "raised by trigger _050_refuse_archived")) << named.message;
        EXPECT_FALSE(has(named.message, "the only trigger"));
    }
    EXPECT_EQ(db.state(), before);
}

TEST(Preflight, AuditTriggerAndCascadeAreNamedAsIndirectWrites) {
    TestDatabase db(dev());
    auto id = db.psql("SELECT min(id) FROM app_public.application");
    auto before = db.state();
    auto plan = plan_for("DELETE FROM app_public.application WHERE id = " + id + ";", {1});

    auto report = build_preflight(db.target(), plan);
    EXPECT_EQ(db.state(), before);
    EXPECT_FALSE(report.has_blockers()) << render_preflight(report);
    const auto& t = report.tables.at(0);
    EXPECT_EQ(t.privileges.missing, std::vector<Privilege>{});
    EXPECT_FALSE(access(t, PolicyCommand::delete_)->denied);
    EXPECT_EQ(access(t, PolicyCommand::delete_)->permissive,
              std::vector<std::string>{"app_owner_all"});

    const auto* audit = trigger(t, "_500_audit");
    ASSERT_NE(audit, nullptr);
    EXPECT_TRUE(audit->fires);
    EXPECT_EQ(audit->timing, TriggerTiming::after);
    EXPECT_EQ(audit->events, (std::vector<std::string>{"INSERT", "UPDATE", "DELETE"}));
    EXPECT_EQ(audit->writes, std::vector<std::string>{"app_public.record_version"});
    EXPECT_FALSE(audit->may_skip_row) << "an AFTER trigger's NULL skips nothing";
    EXPECT_FALSE(trigger(t, "_050_refuse_archived")->fires) << "UPDATE only";

    bool cascade_found = false;
    for (const auto& r : t.references) {
        if (r.table == "app_public.application_status" &&
            r.on_delete == ReferentialAction::cascade) {
            cascade_found = true;
            EXPECT_TRUE(r.writes);
        }
    }
    EXPECT_TRUE(cascade_found);

    auto text = render_preflight(report);
    EXPECT_TRUE(has(text,
                    "_500_audit AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW -> "
                    "app_public.audit_record(); writes app_public.record_version"))
        << text;
    EXPECT_TRUE(has(text, "cascades into app_public.application_status")) << text;
    EXPECT_TRUE(has(text, "DELETE FROM app_public.application WHERE id = $1")) << text;
    auto json = preflight_to_json(report);
    EXPECT_EQ(json["tables"][0]["triggers"].size(), 3u);
    EXPECT_EQ(json["statements"][0]["kind"], "DELETE");
    EXPECT_EQ(json["statements"][0]["table_lock"], "RowExclusiveLock");
    EXPECT_EQ(db.state(), before);
}

TEST(Preflight, LockHeldByAnotherSessionIsReportedWithoutWaiting) {
    TestDatabase db(dev());
    auto before = db.state();
    auto plan = plan_for(kUpdateIntake, {200});
    auto target = db.target();
    target.lock_timeout = std::chrono::milliseconds(300);

    auto holder =
        Connection::open(dev().conninfo(db.name) + " application_name=pf_lock_holder", "holder");
    {
        Transaction held(*holder);
        holder->query("LOCK TABLE app_public.application IN ACCESS EXCLUSIVE MODE");

        auto started = std::chrono::steady_clock::now();
        auto report = build_preflight(target, plan);
        EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
        const auto& holders = report.tables.at(0).lock_holders;
        ASSERT_EQ(holders.size(), 1u) << render_preflight(report);
        const auto& h = holders[0];
        EXPECT_EQ(h.pid, holder->backend_pid());
        EXPECT_EQ(h.mode, "AccessExclusiveLock");
        EXPECT_TRUE(h.granted);
        EXPECT_TRUE(h.conflicts);
        EXPECT_EQ(h.user, "dfsuper");
        EXPECT_EQ(h.application_name, "pf_lock_holder");
        EXPECT_FALSE(h.details_visible) << "app_owner may not see a superuser's session";
        const auto* conflict = finding(report, FindingKind::lock_conflict);
        ASSERT_NE(conflict, nullptr);
        EXPECT_TRUE(has(conflict->message, "pid " + std::to_string(holder->backend_pid()) +
                                               " (user dfsuper, application 'pf_lock_holder') "
                                               "holds AccessExclusiveLock on "
                                               "app_public.application"))
            << conflict->message;
        EXPECT_TRUE(has(report.statements.at(0).estimate_unavailable, "not planned"));

        {
            // With pg_read_all_stats the role also sees since when, and in which state.
            TemporaryGrant stats(db, "pg_read_all_stats TO app_owner");
            auto detailed = build_preflight(target, plan);
            const auto& d = detailed.tables.at(0).lock_holders.at(0);
            EXPECT_TRUE(d.details_visible);
            EXPECT_EQ(d.state, "idle in transaction");
            EXPECT_EQ(d.xact_start.size(), 20u) << d.xact_start;
            ASSERT_TRUE(d.seconds_in_transaction.has_value());
            EXPECT_GE(*d.seconds_in_transaction, 0);
            EXPECT_TRUE(has(render_preflight(detailed), "since " + d.xact_start));

            // The run waits lock_timeout and fails; the explanation names the holder.
            TempImages images;
            auto session = Session::open(target);
            try {
                session.preview(plan, images.store);
                ADD_FAILURE() << "the preview must time out on the lock";
            } catch (const Error& e) {
                auto failure = database_failure_from(e);
                ASSERT_TRUE(failure.has_value()) << e.describe();
                EXPECT_EQ(failure->sqlstate, "55P03");
                auto why = explain_database_error(detailed, 1, *failure);
                EXPECT_TRUE(has(why.message, "pid " + std::to_string(holder->backend_pid()) +
                                                 " (user dfsuper, application "
                                                 "'pf_lock_holder') holds AccessExclusiveLock"))
                    << why.message;
                EXPECT_TRUE(has(why.message, "idle in transaction")) << why.message;
            }
        }
        held.rollback();
    }
    {
        // An open transaction that updated a row: no table conflict, but possible row locks.
        Transaction held(*holder);
        holder->query("SET session_replication_role = replica");
        holder->query(
            "UPDATE app_public.application SET form_data = form_data "
            "WHERE id = (SELECT min(id) FROM app_public.application)");
        auto report = build_preflight(target, plan);
        const auto& holders = report.tables.at(0).lock_holders;
        ASSERT_EQ(holders.size(), 1u) << render_preflight(report);
        EXPECT_EQ(holders[0].mode, "RowExclusiveLock");
        EXPECT_FALSE(holders[0].conflicts);
        EXPECT_TRUE(holders[0].may_hold_row_locks);
        EXPECT_NE(finding(report, FindingKind::row_lock_holder), nullptr);
        EXPECT_TRUE(report.statements.at(0).estimated.has_value())
            << "no conflicting table lock: the statement is planned";
        held.rollback();
    }
    EXPECT_EQ(db.state(), before);
}

TEST(Preflight, EstimateFarFromTheDeclaredCountIsFlagged) {
    TestDatabase db(dev());
    db.psql("ANALYZE app_public.application");
    auto before = db.state();
    auto plan = plan_for(kUpdateIntake, {1});

    auto report = build_preflight(db.target(), plan);
    EXPECT_EQ(db.state(), before);
    const auto& s = report.statements.at(0);
    ASSERT_TRUE(s.estimated.has_value()) << s.estimate_unavailable;
    EXPECT_GT(*s.estimated, 100) << "200 rows match intake 2";
    EXPECT_TRUE(s.estimate_far);
    const auto* far = finding(report, FindingKind::estimate_far);
    ASSERT_NE(far, nullptr);
    EXPECT_EQ(far->severity, Severity::warning);
    EXPECT_EQ(far->statement, 1);
    EXPECT_TRUE(has(far->message, "statement 1 declares 1 rows; the planner estimates"));
    EXPECT_FALSE(report.has_blockers());
    EXPECT_EQ(preflight_to_json(report)["statements"][0]["estimate_far"], true);

    TempImages images;
    auto session = Session::open(db.target());
    expect_error(ErrorCode::count_mismatch, [&] { session.preview(plan, images.store); });
    auto why = explain_mismatch(report, 1, 1, 200);
    EXPECT_TRUE(has(why.message, "200 rows where 1 were declared: the planner estimated about"))
        << why.message;

    // A declaration close to the estimate is not flagged.
    auto close = build_preflight(db.target(), plan_for(kUpdateIntake, {200}));
    EXPECT_FALSE(close.statements.at(0).estimate_far);
    EXPECT_EQ(finding(close, FindingKind::estimate_far), nullptr);
    EXPECT_EQ(db.state(), before);
}

}  // namespace
}  // namespace datafix::targetdb::test
