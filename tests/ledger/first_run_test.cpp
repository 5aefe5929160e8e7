// First run: ledger + key file (0600) + first admin with a token shown once; never twice.
#include <sys/stat.h>

#include "core/error.hpp"
#include "ledger/first_run.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {

TEST(FirstRun, CreatesKeyLedgerAndAdmin) {
    auto dir = fresh_dir("first-run");
    FirstRunOptions options;
    options.ledger_url = (dir / "ledger.db").string();
    options.key_file = (dir / "datafix.key").string();
    options.admin = {"Ada Admin", "ada@example.com", Role::developer};
    options.now = at(0);
    FirstRunResult result = initialize(options);
    EXPECT_EQ(result.admin.person.role, Role::admin);
    EXPECT_FALSE(result.admin.token.empty());
    struct stat st {};
    ASSERT_EQ(::stat(options.key_file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600);

    auto ledger = Ledger::open(options.ledger_url, Key::load_file(options.key_file));
    EXPECT_EQ(ledger->authenticate(result.admin.token)->email, "ada@example.com");
    EXPECT_EQ(read_bytes(options.ledger_url).find(result.admin.token), std::string::npos);

    // A second run refuses: the key exists.
    EXPECT_THROW(initialize(options), Error);
    // With a new key file but the same ledger: refused, and the new key file is removed.
    options.key_file = (dir / "other.key").string();
    EXPECT_THROW(initialize(options), Error);
    EXPECT_FALSE(std::filesystem::exists(options.key_file));
    std::filesystem::remove_all(dir);
}

}  // namespace datafix::ledger::testing
