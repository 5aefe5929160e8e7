// An UPDATE or DELETE that leaves no row of its table untouched is refused unless the change was
// attached with --all-rows, whatever its WHERE looks like: the guard cannot know that `id > 0`
// holds for every row, the database can. Real cluster; the data is checked afterwards.
#include "target_support.hpp"

namespace datafix::targetdb::test {
namespace {

constexpr const char* kEveryUser =
    "UPDATE app_public.app_user SET family_name = upper(family_name) WHERE id > 0;";

TEST(AllRows, AnUpdateTouchingEveryRowIsRefusedWithoutAllRowsAndChangesNothing) {
    TestDatabase db(dev());
    TempImages images;
    long long users = std::stoll(db.psql("SELECT count(*) FROM app_public.app_user"));
    ASSERT_GT(users, 1);
    auto before = db.state();
    auto session = Session::open(db.target());
    auto plan = plan_for(kEveryUser, {users});
    std::string message =
        expect_error(ErrorCode::refused, [&] { (void)session.preview(plan, images.store); });
    EXPECT_NE(message.find("touched every row of app_public.app_user"), std::string::npos)
        << message;
    EXPECT_NE(message.find("--all-rows"), std::string::npos) << message;
    EXPECT_EQ(db.state(), before);

    plan.all_rows = true;
    auto evidence = session.preview(plan, images.store);
    ASSERT_EQ(evidence.statements.size(), 1u);
    EXPECT_EQ(evidence.statements[0].actual_rows, users) << "declared with --all-rows: allowed";
}

TEST(AllRows, ADeleteEmptyingItsTableIsRefusedAndOneLeavingARowIsNot) {
    TestDatabase db(dev());
    TempImages images;
    db.psql(
        "CREATE TABLE app_public.reminder (id integer PRIMARY KEY, note text NOT NULL);"
        "INSERT INTO app_public.reminder SELECT g, 'fabricated ' || g FROM generate_series(1, 5) g;"
        "GRANT SELECT, INSERT, UPDATE, DELETE ON app_public.reminder TO app_owner;");
    auto session = Session::open(db.target());
    auto before = db.state();
    auto all = plan_for("DELETE FROM app_public.reminder WHERE id < 100;", {5});
    std::string message =
        expect_error(ErrorCode::refused, [&] { (void)session.preview(all, images.store); });
    EXPECT_NE(message.find("touched every row of app_public.reminder (5)"), std::string::npos)
        << message;
    EXPECT_EQ(db.state(), before);
    EXPECT_EQ(db.psql("SELECT count(*) FROM app_public.reminder"), "5");

    auto some = plan_for("DELETE FROM app_public.reminder WHERE id < 5;", {4});
    auto evidence = session.preview(some, images.store);
    EXPECT_EQ(evidence.statements[0].actual_rows, 4) << "one row stays: not every row";
}

}  // namespace
}  // namespace datafix::targetdb::test
