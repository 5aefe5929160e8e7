// The write closure on the sample schema's real patterns: every row a change writes, directly or
// through triggers, foreign-key actions and rules, is in the evidence with its cause; apply
// commits only that; revert puts every restorable table back exactly (compared with pg_dump
// --data-only) or refuses with the reason pre-flight gave before the apply.
#include <algorithm>

#include "harness/process.hpp"
#include "target_support.hpp"
#include "targetdb/closure_capture.hpp"
#include "targetdb/connection.hpp"
#include "targetdb/evidence_check.hpp"
#include "targetdb/guards.hpp"
#include "targetdb/statement_capture.hpp"
#include "targetdb/table_info.hpp"

namespace datafix::targetdb::test {
namespace {

const std::vector<std::string> kRestorable = {
    "app_public.application", "app_public.application_status", "app_public.attachment",
    "app_public.deleted_attachment", "app_private.review_queue"};

// pg_dump --data-only of `tables`, without the sequence positions (a rolled-back or reverted
// insert still used its identity values; PostgreSQL never hands them out again).
std::string dump(const TestDatabase& db, const std::vector<std::string>& tables = kRestorable) {
    std::vector<std::string> argv = {"/usr/lib/postgresql/15/bin/pg_dump", "--data-only",
                                     "--no-owner", "-d",
                                     db.cluster.conninfo(db.name, testing::PgCluster::kSuperuser)};
    for (const auto& t : tables) {
        argv.push_back("-t");
        argv.push_back(t);
    }
    auto r = testing::run_process(argv);
    if (r.status != 0) {
        throw std::runtime_error("pg_dump failed: " + r.err);
    }
    // Rows put back by UPDATE live elsewhere in the heap, so pg_dump lists them in another order:
    // the comparison is of the sorted lines, which is still every row and every value.
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < r.out.size()) {
        auto end = r.out.find('\n', start);
        if (end == std::string::npos) {
            end = r.out.size();
        }
        auto line = r.out.substr(start, end - start);
        // \restrict lines carry a random key per run (pg_dump 15.14 and later).
        if (line.rfind("SELECT pg_catalog.setval", 0) != 0 && line.rfind("\\restrict", 0) != 0 &&
            line.rfind("\\unrestrict", 0) != 0) {
            lines.push_back(line);
        }
        start = end + 1;
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) {
        out += l + "\n";
    }
    return out;
}

// Empty when equal, else the first line that differs (for a readable failure).
std::string dump_difference(const std::string& expected, const std::string& actual) {
    std::size_t i = 0;
    while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) {
        ++i;
    }
    if (i == expected.size() && i == actual.size()) {
        return {};
    }
    auto line_at = [&](const std::string& s) {
        auto start = s.rfind('\n', i == 0 ? 0 : i - 1);
        start = start == std::string::npos ? 0 : start + 1;
        return s.substr(start, s.find('\n', start) - start).substr(0, 200);
    };
    return "expected: " + line_at(expected) + "\n  actual: " + line_at(actual);
}

EnvironmentTarget environment(const TestDatabase& db, bool without_triggers) {
    auto t = db.target();
    t.append_only_tables = {"app_public.record_version"};
    t.revert_without_triggers = without_triggers;
    return t;
}

bool has_cause(const TableChanges* c, const std::string& cause) {
    return c != nullptr && std::find(c->causes.begin(), c->causes.end(), cause) != c->causes.end();
}

bool mentions(const std::vector<std::string>& list, const std::string& text) {
    return std::any_of(list.begin(), list.end(),
                       [&](const std::string& s) { return s.find(text) != std::string::npos; });
}

Outcome preview_and_apply(Session& session, TempImages& images, const ChangePlan& plan) {
    auto evidence = session.preview(plan, images.store);
    auto outcome = session.apply(plan, evidence, images.store, kNoHook);
    EXPECT_EQ(outcome.status, OutcomeStatus::committed);
    return outcome;
}

const char* kNewStatus =
    "INSERT INTO app_public.application_status (application_id, status, change_reason) "
    "VALUES (7, 'withdrawn', 'asked by the applicant')";

TEST(Closure, ArchivingInsertShowsTheArchivedRowAndTheAuditRowsByCause) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto evidence = session.preview(plan_for(kNewStatus, {1}), images.store);
    ASSERT_TRUE(evidence.closure_captured);
    const auto* status = changes_of(evidence, "app_public.application_status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->inserted, 1);
    EXPECT_EQ(status->updated, 1) << "the trigger archived the previous current status";
    EXPECT_EQ(status->deleted, 0);
    EXPECT_TRUE(has_cause(status, "statement 1"));
    EXPECT_TRUE(
        has_cause(status, "trigger _200_archive_previous on app_public.application_status"));
    const auto* audit = changes_of(evidence, "app_public.record_version");
    ASSERT_NE(audit, nullptr);
    EXPECT_EQ(audit->inserted, 2) << "one audit row for the insert, one for the archiving update";
    EXPECT_TRUE(audit->append_only);
    EXPECT_TRUE(has_cause(audit, "trigger _500_audit on app_public.application_status"));
    EXPECT_EQ(changes_of(evidence, "app_public.application"), nullptr) << "nothing written there";
}

TEST(Closure, ArchivingInsertRevertsExactlyWithTriggersOff) {
    TestDatabase db(dev());
    TempImages images;
    auto before = dump(db);
    auto audit_rows = db.psql("SELECT count(*) FROM app_public.record_version");
    auto session = Session::open(environment(db, true));
    auto applied = preview_and_apply(session, images, plan_for(kNewStatus, {1}));
    ASSERT_NE(dump_difference(before, dump(db)), "");
    // With triggers off nothing fires; the one hazard left is the SECURITY DEFINER trigger's
    // queue, which this status does not reach (the trigger queues only 'received').
    EXPECT_FALSE(mentions(applied.applied.revert_hazards, "trigger"));

    auto revert = session.preview_revert(applied.applied, images.store);
    auto reverted = session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(reverted.status, OutcomeStatus::committed);
    EXPECT_EQ(dump_difference(before, dump(db)), "")
        << "every restorable closure table is as it was";
    EXPECT_EQ(std::stoll(db.psql("SELECT count(*) FROM app_public.record_version")),
              std::stoll(audit_rows) + 2)
        << "the audit log keeps the change's rows: history is never erased";
}

TEST(Closure, ArchivingInsertRevertWithTriggersOnIsRefusedAsPreflightSaid) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, false));
    auto plan = plan_for(kNewStatus, {1});
    auto report = session.preflight(plan);
    EXPECT_TRUE(mentions(report.revert_hazards,
                         "trigger _050_refuse_archived on app_public.application_status can "
                         "refuse the rows the revert puts back"));
    EXPECT_TRUE(mentions(report.revert_hazards,
                         "trigger _100_timestamps on "
                         "app_public.application_status sets"));
    bool finding = std::any_of(report.findings.begin(), report.findings.end(), [](const auto& f) {
        return f.kind == FindingKind::revert_inexact &&
               f.message.find("this change cannot be reverted exactly") != std::string::npos;
    });
    EXPECT_TRUE(finding);

    auto applied = preview_and_apply(session, images, plan);
    auto after_apply = dump(db);
    auto message = expect_error(ErrorCode::revert_inexact,
                                [&] { session.preview_revert(applied.applied, images.store); });
    EXPECT_NE(message.find("_050_refuse_archived"), std::string::npos) << message;
    EXPECT_NE(message.find("pre-flight said before the apply"), std::string::npos) << message;
    EXPECT_EQ(dump_difference(after_apply, dump(db)), "") << "a refused revert changes nothing";
}

TEST(Closure, TimestampTriggersMakeAnUpdateRevertRefuseNamingTheColumns) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, false));
    auto applied = preview_and_apply(
        session, images,
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id IN (21, 22)", {2}));
    auto after_apply = dump(db);
    auto message = expect_error(ErrorCode::revert_inexact,
                                [&] { session.preview_revert(applied.applied, images.store); });
    EXPECT_NE(message.find("app_public.application (id)=(21) differs in"), std::string::npos)
        << message;
    EXPECT_NE(message.find("updated_at"), std::string::npos) << message;
    EXPECT_NE(message.find("trigger _100_timestamps on app_public.application sets"),
              std::string::npos)
        << message;
    EXPECT_EQ(dump_difference(after_apply, dump(db)), "");
}

TEST(Closure, RevertWithoutTriggersNeedsTheGrantAndSaysSo) {
    TestDatabase db(dev());
    // The grant is the cluster's: taken back for this test only, given back whatever happens.
    db.psql("REVOKE SET ON PARAMETER session_replication_role FROM app_owner");
    struct Regrant {
        const TestDatabase& db;
        ~Regrant() { db.psql("GRANT SET ON PARAMETER session_replication_role TO app_owner"); }
    } regrant{db};
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan =
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id IN (31, 32)", {2});
    auto report = session.preflight(plan);
    EXPECT_FALSE(report.role_may_disable_triggers);
    EXPECT_TRUE(mentions(report.revert_hazards,
                         "revert_without_triggers is set, but role app_owner may not SET "
                         "session_replication_role"));
    auto applied = preview_and_apply(session, images, plan);
    auto after_apply = dump(db);
    auto message = expect_error(ErrorCode::target_refused,
                                [&] { session.preview_revert(applied.applied, images.store); });
    EXPECT_NE(message.find("may not set session_replication_role"), std::string::npos) << message;
    EXPECT_NE(message.find("GRANT SET ON PARAMETER session_replication_role"), std::string::npos)
        << message;
    EXPECT_EQ(dump_difference(after_apply, dump(db)), "");
}

TEST(Closure, UpdateWithAuditRevertsExactlyAndKeepsTheAuditRows) {
    TestDatabase db(dev());
    TempImages images;
    auto before = dump(db);
    auto audit_before = db.psql("SELECT count(*) FROM app_public.record_version");
    auto session = Session::open(environment(db, true));
    auto applied = preview_and_apply(
        session, images,
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE intake_id = 4", {200}));
    const auto* app = changes_of(applied.applied, "app_public.application");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ(app->updated, 200);
    const auto* audit = changes_of(applied.applied, "app_public.record_version");
    ASSERT_NE(audit, nullptr);
    EXPECT_EQ(audit->inserted, 200);

    auto revert = session.preview_revert(applied.applied, images.store);
    const auto* restored = changes_of(revert, "app_public.application");
    ASSERT_NE(restored, nullptr);
    EXPECT_EQ(restored->updated, 200);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db)), "");
    EXPECT_EQ(std::stoll(db.psql("SELECT count(*) FROM app_public.record_version")),
              std::stoll(audit_before) + 200);
}

TEST(Closure, DeleteCascadesAndSetNullAreCapturedAndRestored) {
    TestDatabase db(dev());
    db.psql(
        "INSERT INTO app_public.attachment (application_id, file_name) VALUES (9, 'plan.pdf'), "
        "(9, 'budget.xlsx'), (10, 'other.pdf')");
    TempImages images;
    auto before = dump(db);
    auto session = Session::open(environment(db, true));
    auto plan = plan_for("DELETE FROM app_public.application WHERE id = 9", {1});
    auto report = session.preflight(plan);
    auto reached = [&](const std::string& table, const std::string& cause) {
        for (const auto& t : report.tables) {
            if (t.qualified == table) {
                return mentions(t.reached_by, cause);
            }
        }
        return false;
    };
    EXPECT_TRUE(
        reached("app_public.application_status", "(ON DELETE CASCADE) to app_public.application"));
    EXPECT_TRUE(reached("app_public.attachment", "(ON DELETE SET NULL) to app_public.application"));
    EXPECT_TRUE(reached("app_public.record_version", "trigger _500_audit on app_public.attachment"))
        << "the triggers of cascade targets are followed too";

    auto applied = preview_and_apply(session, images, plan);
    const auto* status = changes_of(applied.applied, "app_public.application_status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->deleted, 1);
    const auto* attachment = changes_of(applied.applied, "app_public.attachment");
    ASSERT_NE(attachment, nullptr);
    EXPECT_EQ(attachment->updated, 2) << "the two attachments of application 9 lost their link";
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.attachment WHERE application_id IS NULL"),
              "2");

    auto revert = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db)), "");
}

TEST(Closure, RuleWritesAreCapturedByTheirRule) {
    TestDatabase db(dev());
    // A second attachment stays: deleting every row of a table needs --all-rows (all_rows_test).
    db.psql(
        "INSERT INTO app_public.attachment (application_id, file_name) VALUES (3, 'x.pdf'), "
        "(4, 'y.pdf')");
    TempImages images;
    auto before = dump(db);
    auto session = Session::open(environment(db, true));
    auto applied = preview_and_apply(
        session, images,
        plan_for("DELETE FROM app_public.attachment WHERE application_id = 3", {1}));
    const auto* log = changes_of(applied.applied, "app_public.deleted_attachment");
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->inserted, 1);
    EXPECT_TRUE(has_cause(log, "rule log_attachment_delete on app_public.attachment"));
    auto revert = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db)), "");
}

TEST(Closure, SecurityDefinerTriggerWritesAreShownAndTheRevertIsRefusedBeforehand) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "INSERT INTO app_public.application_status (application_id, status) VALUES (12, "
        "'received')",
        {1});
    auto report = session.preflight(plan);
    EXPECT_TRUE(
        mentions(report.revert_hazards, "role app_owner lacks DELETE on app_private.review_queue"));
    auto applied = preview_and_apply(session, images, plan);
    const auto* queue = changes_of(applied.applied, "app_private.review_queue");
    ASSERT_NE(queue, nullptr);
    EXPECT_EQ(queue->inserted, 1);
    EXPECT_TRUE(has_cause(queue, "trigger _300_queue_for_review on app_public.application_status"));
    auto after_apply = dump(db);
    auto message = expect_error(ErrorCode::revert_inexact,
                                [&] { session.preview_revert(applied.applied, images.store); });
    EXPECT_NE(message.find("lacks DELETE on app_private.review_queue"), std::string::npos)
        << message;
    EXPECT_EQ(dump_difference(after_apply, dump(db)), "");
}

TEST(Closure, ApplyRefusesWhenTheIndirectRowsDifferFromTheApprovedOnes) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(kNewStatus, {1});
    auto evidence = session.preview(plan, images.store);
    // Someone archives application 7's current status meanwhile: the trigger now archives
    // nothing, so the change would write other rows than the pair saw.
    db.psql(
        "SET session_replication_role = replica; UPDATE app_public.application_status SET "
        "archived_at = now() WHERE application_id = 7");
    auto state = dump(db);
    auto message = expect_error(ErrorCode::count_mismatch,
                                [&] { session.apply(plan, evidence, images.store, kNoHook); });
    EXPECT_NE(message.find("app_public.application_status: approved 1 inserted, 1 updated"),
              std::string::npos)
        << message;
    EXPECT_EQ(dump_difference(state, dump(db)), "");
}

TEST(Closure, FingerprintCoversTheIndirectRows) {
    TestDatabase db(dev());
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto evidence = session.preview(plan_for(kNewStatus, {1}), images.store);
    auto edited = evidence;
    edited.closure.at(0).updated += 1;
    EXPECT_NE(fingerprint(edited), evidence.fingerprint);
    expect_error(ErrorCode::count_mismatch,
                 [&] { session.apply(plan_for(kNewStatus, {1}), edited, images.store, kNoHook); });
}

TEST(Preflight, ATriggerThatChangesTheRoleIsNamed) {
    TestDatabase db(dev());
    db.psql(R"(
        CREATE FUNCTION app_public.as_internal() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM set_config('role', 'app_internal', true);
            RETURN NEW;
        END $$;
        CREATE TRIGGER _010_as_internal BEFORE UPDATE ON app_public.intake
            FOR EACH ROW EXECUTE FUNCTION app_public.as_internal();)");
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "UPDATE app_public.intake SET close_timestamp = close_timestamp WHERE id = 1", {1});
    auto report = session.preflight(plan);
    const Finding* found = nullptr;
    for (const auto& f : report.findings) {
        if (f.kind == FindingKind::role_change) {
            found = &f;
        }
    }
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(found->severity, Severity::blocker) << "app_owner is no member of app_internal";
    EXPECT_NE(found->message.find("_010_as_internal"), std::string::npos) << found->message;
    EXPECT_NE(found->message.find("set_config('role', ...)) to app_internal, which role "
                                  "app_owner may not become"),
              std::string::npos)
        << found->message;
    TempImages images;
    auto before = db.state();
    auto refused = expect_error(ErrorCode::database, [&] { session.preview(plan, images.store); });
    EXPECT_NE(refused.find("permission denied to set role"), std::string::npos) << refused;
    EXPECT_EQ(db.state(), before);

    // Granted, the trigger can switch: pre-flight only warns, and the run still never commits as
    // another role (here app_internal may not even use the schema, so the statement fails; had
    // it succeeded, the check after the statement would roll it back as an escape).
    db.psql("GRANT app_internal TO app_owner");
    report = session.preflight(plan);
    for (const auto& f : report.findings) {
        if (f.kind == FindingKind::role_change) {
            EXPECT_EQ(f.severity, Severity::warning) << f.message;
        }
    }
    try {
        session.preview(plan, images.store);
        ADD_FAILURE() << "a run that switched roles went through";
    } catch (const Error& e) {
        EXPECT_TRUE(e.code() == ErrorCode::database || e.code() == ErrorCode::escape)
            << e.describe();
    }
    EXPECT_EQ(db.state(), before);
    db.psql("REVOKE app_internal FROM app_owner");
}

TEST(Closure, DynamicSqlMakesEveryApplicationTableTheClosure) {
    TestDatabase db(dev());
    // A trigger whose writes no parser can see: EXECUTE of a string.
    db.psql(R"(
        CREATE TABLE app_public.note (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                      body text NOT NULL);
        ALTER TABLE app_public.note OWNER TO app_owner;
        CREATE FUNCTION app_public.note_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('INSERT INTO %I.%I (body) VALUES ($1)', 'app_public', 'note')
                USING TG_OP;
            RETURN NULL;
        END $$;
        ALTER FUNCTION app_public.note_change() OWNER TO app_owner;
        CREATE TRIGGER _900_note AFTER UPDATE ON app_public.intake
            FOR EACH ROW EXECUTE FUNCTION app_public.note_change();)");
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "UPDATE app_public.intake SET close_timestamp = close_timestamp + interval '1 day' "
        "WHERE intake_number = 3",
        {1});
    auto report = session.preflight(plan);
    EXPECT_TRUE(mentions(report.unknown_writes, "trigger _900_note on app_public.intake"));
    bool warned = std::any_of(report.findings.begin(), report.findings.end(),
                              [](const auto& f) { return f.kind == FindingKind::unknown_writes; });
    EXPECT_TRUE(warned);
    auto before = dump(db, {"app_public.intake", "app_public.note"});
    auto applied = preview_and_apply(session, images, plan);
    const auto* note = changes_of(applied.applied, "app_public.note");
    ASSERT_NE(note, nullptr) << "the row the dynamic SQL wrote is in the evidence";
    EXPECT_EQ(note->inserted, 1);
    EXPECT_TRUE(has_cause(note, "unknown writes (dynamic SQL)"));
    auto revert = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db, {"app_public.intake", "app_public.note"})), "");
}

TEST(Preflight, RowSecurityOfATableTheStatementOnlyReadsIsBlamedForMissingRows) {
    TestDatabase db(dev());
    // The owner role now sees only the first two intakes.
    db.psql(
        "DROP POLICY app_owner_all ON app_public.intake; CREATE POLICY app_owner_early ON "
        "app_public.intake TO app_owner USING (intake_number <= 2)");
    auto before = db.state();
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "INSERT INTO app_public.application_status (application_id, status) SELECT a.id, "
        "'withdrawn' FROM app_public.application a JOIN app_public.intake i ON i.id = "
        "a.intake_id WHERE i.intake_number = 5",
        {200});
    auto report = session.preflight(plan);
    ASSERT_EQ(report.read_tables.size(), 2u) << "application and intake are read";
    bool warned = std::any_of(report.findings.begin(), report.findings.end(), [](const auto& f) {
        return f.kind == FindingKind::read_rows_hidden_by_rls && f.table == "app_public.intake" &&
               f.message.find("policies app_owner_early decide") != std::string::npos;
    });
    EXPECT_TRUE(warned);
    auto message =
        expect_error(ErrorCode::count_mismatch, [&] { session.preview(plan, images.store); });
    EXPECT_NE(message.find("the statement reads app_public.intake, which has FORCE ROW LEVEL "
                           "SECURITY"),
              std::string::npos)
        << message;
    EXPECT_EQ(message.find("app_public.application_status has"), std::string::npos)
        << "the written table is not blamed: " << message;
    EXPECT_EQ(db.state(), before);
}

// A DELETE's before-images are the rows it removed (its RETURNING form, in the same pass), not
// the rows its WHERE matched: a BEFORE DELETE trigger that keeps a row leaves it out of the
// evidence, and the revert puts back exactly what went. (A table with DELETE rules keeps the
// SELECT first: RuleWritesAreCapturedByTheirRule.)
TEST(Closure, ADeleteImagesTheRowsItRemovedNotTheOnesATriggerKept) {
    TestDatabase db(dev());
    db.psql(
        "CREATE FUNCTION app_public.keep_signed() RETURNS trigger LANGUAGE plpgsql AS $fn$ "
        "BEGIN IF OLD.change_reason LIKE '%signed%' THEN RETURN NULL; END IF; RETURN OLD; END "
        "$fn$; "
        "CREATE TRIGGER _010_keep_signed BEFORE DELETE ON app_public.application_status "
        "FOR EACH ROW EXECUTE FUNCTION app_public.keep_signed(); "
        "SET session_replication_role = replica; "
        "INSERT INTO app_public.application_status (application_id, status, change_reason) "
        "VALUES (3, 'draft', 'fabricated a'), (3, 'draft', 'fabricated signed'), "
        "(3, 'draft', 'fabricated b')");
    TempImages images;
    auto before = dump(db);
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "DELETE FROM app_public.application_status WHERE change_reason LIKE 'fabricated%'", {2});
    auto evidence = session.preview(plan, images.store);
    ASSERT_EQ(evidence.statements.size(), 1u);
    EXPECT_EQ(evidence.statements[0].actual_rows, 2);
    EXPECT_EQ(evidence.statements[0].before.rows, 2) << "the kept row is no before-image";
    auto applied = session.apply(plan, evidence, images.store, kNoHook);
    ASSERT_EQ(applied.status, OutcomeStatus::committed);
    EXPECT_EQ(applied.applied.statements[0].before.digest, evidence.statements[0].before.digest);
    const auto* status = changes_of(applied.applied, "app_public.application_status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->deleted, 2);
    EXPECT_EQ(status->before.digest, applied.applied.statements[0].before.digest)
        << "the closure saw the same two rows go";
    EXPECT_EQ(db.psql("SELECT change_reason FROM app_public.application_status "
                      "WHERE change_reason LIKE 'fabricated%'"),
              "fabricated signed");
    auto revert = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db)), "");
}

// A cascade that removes more rows than one look by ctid checks (5,000): every cascaded row is
// imaged, counted as deleted and put back by the revert; a row the change only locked (the
// foreign-key check of its second statement) is a candidate that drops out.
TEST(Closure, ACascadeOfManyRowsIsImagedWholeAcrossLooksByCtid) {
    TestDatabase db(dev());
    // Fabricated history rows, inserted with the triggers off (as a bulk load would be).
    db.psql(
        "SET session_replication_role = replica; "
        "INSERT INTO app_public.application_status (application_id, status, change_reason) "
        "SELECT 9, 'draft', 'fabricated ' || g FROM generate_series(1, 12000) g");
    auto cascaded = std::stoll(
        db.psql("SELECT count(*) FROM app_public.application_status WHERE application_id = 9"));
    ASSERT_GT(cascaded, 10000);
    TempImages images;
    auto before = dump(db);
    auto session = Session::open(environment(db, true));
    auto applied = preview_and_apply(
        session, images,
        plan_for("DELETE FROM app_public.application WHERE id = 9;\n"
                 "INSERT INTO app_public.application_status (application_id, status, "
                 "change_reason) VALUES (10, 'draft', 'fabricated')",
                 {1, 1}));
    const auto* status = changes_of(applied.applied, "app_public.application_status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->deleted, cascaded);
    EXPECT_EQ(status->inserted, 1);
    EXPECT_EQ(status->before.rows, cascaded + status->updated);
    const auto* application = changes_of(applied.applied, "app_public.application");
    ASSERT_NE(application, nullptr);
    EXPECT_EQ(application->deleted, 1);
    EXPECT_EQ(application->before.rows, 1) << "application 10 was only locked";
    const auto* audit = changes_of(applied.applied, "app_public.record_version");
    ASSERT_NE(audit, nullptr);
    EXPECT_EQ(audit->inserted, cascaded + 2 + status->updated) << "one audit row per written row";
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.application_status WHERE application_id "
                      "= 9"),
              "0");
    auto revert = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert, images.store, kNoHook);
    EXPECT_EQ(dump_difference(before, dump(db)), "");
}

// The capture merges before- and after-images by compare_keys, in the order its queries sort:
// integer keys as numbers, other keys bytewise on the decoded text, NULL and a missing field as
// the empty value (0 for a number), the first differing key column deciding.
// A table one statement writes alone takes that statement's images instead of a scan: in the
// same transaction, the table's changes taken both ways are the same rows, in the same order,
// counted alike. The note table has no trigger, cascade or rule; its key may be text.
struct ScanAndStatement {
    TableChanges scanned;
    TableChanges taken;
};

ScanAndStatement scan_and_statement(const TestDatabase& db, TempImages& images,
                                    const std::string& change) {
    auto target = db.target();
    auto run = Connection::open(target.conninfo, "run");
    auto observer = Connection::open(target.conninfo, "observer");
    run_guards(*run, target);
    run_guards(*observer, target);
    auto plan = plan_for(change, {std::nullopt});
    const auto& statement = plan.statements.at(0);
    Transaction tx(*run);
    run->query("SELECT pg_current_xact_id()");
    auto info = load_table_info(*run, "app_public", "note");
    auto ev = execute_with_capture(*run, images.store, statement, info, {});
    ClosureTable table{"app_public", "note", {"statement 1"}};
    auto scanned = capture_changes(*run, *observer, images.store, {table}, "scan");
    table.written_alone = &ev;
    auto taken = capture_changes(*run, *observer, images.store, {table}, "taken");
    tx.rollback();
    EXPECT_EQ(scanned.size(), 1u) << change;
    EXPECT_EQ(taken.size(), 1u) << change;
    if (scanned.size() != 1 || taken.size() != 1) {
        return {};
    }
    EXPECT_EQ(taken[0].before.path, ev.before.path) << "the statement's own file, not a copy";
    EXPECT_EQ(taken[0].after.path, ev.after.path);
    return {scanned[0], taken[0]};
}

void expect_same(const TableChanges& a, const TableChanges& b, const std::string& what) {
    EXPECT_EQ(a.inserted, b.inserted) << what;
    EXPECT_EQ(a.updated, b.updated) << what;
    EXPECT_EQ(a.deleted, b.deleted) << what;
    EXPECT_EQ(a.before.rows, b.before.rows) << what;
    EXPECT_EQ(a.before.digest, b.before.digest) << what;
    EXPECT_EQ(a.after.rows, b.after.rows) << what;
    EXPECT_EQ(a.after.digest, b.after.digest) << what;
    EXPECT_EQ(a.after.keys_digest, b.after.keys_digest) << what;
}

TEST(Closure, ATableOneStatementWritesAloneTakesItsImagesAsAScanWouldFindThem) {
    for (const std::string key : {"integer", "text"}) {
        TestDatabase db(dev());
        db.psql("CREATE TABLE app_public.note (id " + key +
                " PRIMARY KEY, body text NOT NULL); "
                "ALTER TABLE app_public.note OWNER TO app_owner; "
                "INSERT INTO app_public.note SELECT g::text::" +
                key + ", 'fabricated ' || g FROM generate_series(1, 40) g");
        TempImages images;
        struct Case {
            std::string change;
            long long inserted, updated, deleted;
        };
        // The text keys sort bytewise ('10' before '2'), as the scan's ORDER BY sorts them.
        const std::vector<Case> cases = {
            {"UPDATE app_public.note SET body = body || ' seen' WHERE id IN ('2', '3', '10', '21')",
             0, 4, 0},
            {"DELETE FROM app_public.note WHERE id IN ('4', '11', '30')", 0, 0, 3},
            {"INSERT INTO app_public.note SELECT (100 + g)::text::" + key +
                 ", 'fabricated new' FROM generate_series(1, 12) g",
             12, 0, 0},
            // Keys rewritten: the old keys go, the new ones come, as a merge by key counts them.
            {"UPDATE app_public.note SET id = (id::text || '0')::" + key +
                 " WHERE id IN ('5', '6')",
             2, 0, 2},
        };
        for (const auto& c : cases) {
            auto [scanned, taken] = scan_and_statement(db, images, c.change);
            expect_same(scanned, taken, key + ": " + c.change);
            EXPECT_EQ(taken.inserted, c.inserted) << key << ": " << c.change;
            EXPECT_EQ(taken.updated, c.updated) << key << ": " << c.change;
            EXPECT_EQ(taken.deleted, c.deleted) << key << ": " << c.change;
        }
    }
}

// Where the statement's capture cannot be the table's — another cause writes the table, or a
// BEFORE trigger skips a row the statement's before-images hold — the table is scanned, and the
// evidence holds the rows that changed, not the rows the statement's WHERE found.
TEST(Closure, ASkippedRowOrASecondCauseMakesTheTableScanned) {
    TestDatabase db(dev());
    db.psql(
        "CREATE FUNCTION app_public.keep_signed_application() RETURNS trigger LANGUAGE plpgsql "
        "AS $fn$ BEGIN IF OLD.form_data ? 'signed' THEN RETURN NULL; END IF; RETURN NEW; END "
        "$fn$; "
        "CREATE TRIGGER _010_keep_signed BEFORE UPDATE ON app_public.application "
        "FOR EACH ROW EXECUTE FUNCTION app_public.keep_signed_application(); "
        "SET session_replication_role = replica; "
        "UPDATE app_public.application SET form_data = form_data || '{\"signed\": true}' "
        "WHERE id = 3");
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for(
        "UPDATE app_public.application SET form_data = form_data || '{\"seen\": true}' "
        "WHERE id IN (1, 2, 3)",
        {2});
    auto evidence = session.preview(plan, images.store);
    ASSERT_EQ(evidence.statements.size(), 1u);
    EXPECT_EQ(evidence.statements[0].actual_rows, 2);
    EXPECT_EQ(evidence.statements[0].before.rows, 3) << "the WHERE found the kept row too";
    const auto* application = changes_of(evidence, "app_public.application");
    ASSERT_NE(application, nullptr);
    EXPECT_EQ(application->updated, 2) << "the kept row is no change";
    EXPECT_EQ(application->before.rows, 2);
    EXPECT_NE(application->before.path, evidence.statements[0].before.path) << "scanned";

    // The archiving INSERT: its table is also written by the trigger that archives the previous
    // row, so it is scanned, and the archived row is in the evidence as updated.
    auto insert = plan_for(kNewStatus, {1});
    auto inserted = session.preview(insert, images.store);
    const auto* status = changes_of(inserted, "app_public.application_status");
    ASSERT_NE(status, nullptr);
    EXPECT_EQ(status->inserted, 1);
    EXPECT_EQ(status->updated, 1) << "the archived row";
    EXPECT_NE(status->after.path, inserted.statements[0].after.path) << "scanned";
}

// A table that references itself: the DELETE's RETURNING holds only the rows it named, the
// cascade removes their replies too. Pre-flight names the foreign key as a second cause, so the
// table is scanned and every removed row is in the evidence.
TEST(Closure, ASelfReferencingCascadeIsScannedAndEveryRemovedRowShown) {
    TestDatabase db(dev());
    db.psql(
        "CREATE TABLE app_public.note (id integer PRIMARY KEY, body text NOT NULL, "
        "reply_to integer REFERENCES app_public.note (id) ON DELETE CASCADE); "
        "ALTER TABLE app_public.note OWNER TO app_owner; "
        "INSERT INTO app_public.note VALUES (1, 'fabricated a', NULL), (2, 'fabricated b', 1), "
        "(3, 'fabricated c', 2), (4, 'fabricated d', NULL)");
    TempImages images;
    auto session = Session::open(environment(db, true));
    auto plan = plan_for("DELETE FROM app_public.note WHERE id = 1", {1});
    auto evidence = session.preview(plan, images.store);
    ASSERT_EQ(evidence.statements.size(), 1u);
    EXPECT_EQ(evidence.statements[0].before.rows, 1);
    const auto* note = changes_of(evidence, "app_public.note");
    ASSERT_NE(note, nullptr);
    EXPECT_EQ(note->deleted, 3) << "the named row and the two replies the cascade removed";
    EXPECT_NE(note->before.path, evidence.statements[0].before.path) << "scanned";
}

TEST(Closure, KeysCompareInTheOrderTheCaptureQueriesSort) {
    std::vector<std::size_t> id{0};
    EXPECT_LT(compare_keys(id, "9\tx", "10\ty", true), 0) << "numbers, not text";
    EXPECT_GT(compare_keys(id, "9\tx", "10\ty", false), 0) << "text, byte by byte";
    EXPECT_EQ(compare_keys(id, "42\tx", "42\ty", true), 0) << "only the key counts";
    EXPECT_LT(compare_keys(id, "-5", "3", true), 0);
    EXPECT_EQ(compare_keys(id, "\\N\tx", "0\ty", true), 0) << "NULL counts as 0";
    EXPECT_EQ(compare_keys(std::vector<std::size_t>{3}, "1\t2", "", true), 0)
        << "a missing field counts as 0";
    EXPECT_THROW(compare_keys(id, "x", "1", true), std::invalid_argument)
        << "a key that is no number is an error, not an order";
    // Escapes are decoded before comparing: "a\\b" is a, backslash, b (0x5c) and "a\tb" is a,
    // tab, b (0x09).
    EXPECT_GT(compare_keys(id, "a\\\\b", "a\\tb", false), 0);
    EXPECT_EQ(compare_keys(id, "a\\tb\t1", "a\\tb\t2", false), 0);
    EXPECT_LT(compare_keys(id, "\\N", "a", false), 0) << "NULL counts as the empty text";
    EXPECT_GT(compare_keys(id, "\xc3\xa9", "z", false), 0) << "bytes compare unsigned";
    std::vector<std::size_t> pair{2, 0};
    EXPECT_LT(compare_keys(pair, "1\tq\t7", "0\tq\t8", true), 0) << "first key column first";
    EXPECT_GT(compare_keys(pair, "1\tq\t7", "0\tq\t7", true), 0) << "then the next";
}

}  // namespace
}  // namespace datafix::targetdb::test
