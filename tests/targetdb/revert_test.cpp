// Revert from the before-images as its own guarded run: updated rows restored, deleted rows
// re-inserted, inserted rows deleted, in every table of the write closure; a row changed since
// the apply is a conflict.
#include "target_support.hpp"

namespace datafix::targetdb::test {
namespace {

// Every column of every row: with triggers off a revert puts back exactly what was there.
std::string application_data(const TestDatabase& db) {
    return db.psql(
        "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM app_public.application t");
}

std::string status_data(const TestDatabase& db) {
    return db.psql(
        "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM app_public.application_status t");
}

// The audit log is append-only, and the role may restore with triggers off, so a revert can be
// exact (closure_test.cpp covers the environments where it cannot).
EnvironmentTarget restorable(const TestDatabase& db) {
    auto t = db.target();
    t.append_only_tables = {"app_public.record_version"};
    t.revert_without_triggers = true;
    return t;
}

long long restored_rows(const Evidence& revert, const std::string& table) {
    for (const auto& c : revert.closure) {
        if (c.qualified() == table) {
            return c.changed();
        }
    }
    return 0;
}

Outcome apply_change(Session& session, TempImages& images, const ChangePlan& plan) {
    auto evidence = session.preview(plan, images.store);
    return session.apply(plan, evidence, images.store, kNoHook);
}

TEST(Revert, UpdateIsRestoredFromTheBeforeImages) {
    TestDatabase db(dev());
    TempImages images;
    auto original = application_data(db);
    auto session = Session::open(restorable(db));
    auto applied = apply_change(
        session, images,
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE intake_id = 4", {200}));
    ASSERT_EQ(applied.status, OutcomeStatus::committed);
    ASSERT_NE(application_data(db), original);

    auto after_apply = db.state();
    auto revert_evidence = session.preview_revert(applied.applied, images.store);
    EXPECT_EQ(db.state(), after_apply) << "a revert preview changes nothing";
    EXPECT_TRUE(revert_evidence.conflicts.empty());
    EXPECT_EQ(revert_evidence.kind, RunKind::revert);
    EXPECT_EQ(restored_rows(revert_evidence, "app_public.application"), 200);

    auto reverted = session.apply_revert(applied.applied, revert_evidence, images.store, kNoHook);
    EXPECT_EQ(reverted.status, OutcomeStatus::committed);
    EXPECT_EQ(application_data(db), original);
}

TEST(Revert, DeletedRowsAreReinsertedWithTheirIdentity) {
    TestDatabase db(dev());
    TempImages images;
    auto original = status_data(db);
    auto session = Session::open(restorable(db));
    auto applied = apply_change(
        session, images,
        plan_for("DELETE FROM app_public.application_status WHERE application_id <= 10", {10}));
    ASSERT_EQ(db.psql("SELECT count(*) FROM app_public.application_status"), "990");
    auto revert_evidence = session.preview_revert(applied.applied, images.store);
    session.apply_revert(applied.applied, revert_evidence, images.store, kNoHook);
    EXPECT_EQ(status_data(db), original);
}

TEST(Revert, InsertedRowsAreDeleted) {
    TestDatabase db(dev());
    TempImages images;
    auto original = status_data(db);
    auto session = Session::open(restorable(db));
    auto applied = apply_change(
        session, images,
        plan_for("INSERT INTO app_public.application_status (application_id, status, "
                 "change_reason) SELECT id, 'withdrawn', 'bulk' FROM app_public.application "
                 "WHERE id <= 30",
                 {30}));
    ASSERT_EQ(db.psql("SELECT count(*) FROM app_public.application_status"), "1030");
    auto revert_evidence = session.preview_revert(applied.applied, images.store);
    // 30 inserted rows deleted, and the 30 statuses their trigger archived set current again.
    EXPECT_EQ(restored_rows(revert_evidence, "app_public.application_status"), 60);
    session.apply_revert(applied.applied, revert_evidence, images.store, kNoHook);
    EXPECT_EQ(status_data(db), original);
}

TEST(Revert, ARowChangedSinceTheApplyIsAConflictUnlessForced) {
    TestDatabase db(dev());
    TempImages images;
    auto original = application_data(db);
    auto session = Session::open(restorable(db));
    auto applied = apply_change(
        session, images,
        plan_for("UPDATE app_public.application SET form_data = '{}' WHERE id IN (11, 12, 13)",
                 {3}));
    db.psql("UPDATE app_public.application SET intake_id = 1 WHERE id = 12");
    auto changed = db.state();
    auto message = expect_error(ErrorCode::conflict,
                                [&] { session.preview_revert(applied.applied, images.store); });
    EXPECT_NE(message.find("1 rows changed since the change was applied"), std::string::npos)
        << message;
    EXPECT_NE(message.find("app_public.application (id)=(12)"), std::string::npos) << message;
    EXPECT_EQ(db.state(), changed);

    RevertOptions force{true};
    auto revert_evidence = session.preview_revert(applied.applied, images.store, force);
    EXPECT_EQ(revert_evidence.conflicts,
              std::vector<std::string>{"app_public.application (id)=(12)"});
    // Without force the apply refuses too, even with the evidence in hand.
    expect_error(ErrorCode::conflict, [&] {
        session.apply_revert(applied.applied, revert_evidence, images.store, kNoHook);
    });
    EXPECT_EQ(db.state(), changed);
    session.apply_revert(applied.applied, revert_evidence, images.store, kNoHook, force);
    EXPECT_EQ(application_data(db), original);
}

}  // namespace
}  // namespace datafix::targetdb::test
