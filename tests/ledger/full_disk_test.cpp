// A ledger whose disk is full: a step is refused with a clear message (and, since every run is
// recorded before it starts, no target is touched), reads go on, and writes work again once
// space is back. The ledger lives on a small tmpfs the test mounts (it needs root, as the suite
// runs in CI; elsewhere the test says why it skipped).
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/error.hpp"
#include "ledger_fixture.hpp"

namespace datafix::ledger::testing {
namespace {

class FullDisk : public ::testing::Test {
  protected:
    void SetUp() override {
        dir = fresh_dir("full_disk");
        if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m,mode=0700") != 0) {
            GTEST_SKIP() << "cannot mount a tmpfs here (needs root): " << std::strerror(errno);
        }
        mounted = true;
        key = std::make_unique<Key>(Key::generate());
        ledger = Ledger::open((dir / "ledger.db").string(), *key);
        po = ledger->create_user({"Olivia PO", "olivia@example.com", Role::product_owner}, by(0));
    }
    void TearDown() override {
        ledger.reset();
        if (mounted) {
            ::umount(dir.c_str());
        }
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
    // Writes zeros until the file system has no room left.
    void fill() {
        std::ofstream filler(dir / "filler", std::ios::binary);
        std::string block(4096, '\0');
        while (filler.write(block.data(), static_cast<std::streamsize>(block.size())) &&
               filler.flush()) {
        }
    }

    std::filesystem::path dir;
    bool mounted = false;
    std::unique_ptr<Key> key;
    std::unique_ptr<Ledger> ledger;
    IssuedToken po;
};

TEST_F(FullDisk, AStepIsRefusedClearlyReadsGoOnAndWritesComeBack) {
    ChangeRequest r;
    r.title = "fix an intake name";
    r.reason = "asked by email";
    r.requested_by = po.person.id;
    r.requested_date = "2024-05-01";
    r.created_by = po.person.id;
    r.created_at = at(0);
    AuditEvent created = by(po.person.id);
    created.action = "request.created";
    ledger->create_request(r, created);

    fill();
    try {
        // Large enough that it cannot fit into pages the file already has.
        ledger->transact(1, [&](RequestState& s) {
            s.request.reason = std::string(256 * 1024, 'x');
            AuditEvent e = by(po.person.id, at(1));
            e.action = "test.step";
            return Mutation{true, {e}};
        });
        ADD_FAILURE() << "a step was recorded on a full disk";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::unreachable) << e.describe();
        EXPECT_NE(e.message().find("the ledger cannot record anything now (its disk is full)"),
                  std::string::npos)
            << e.describe();
        EXPECT_NE(e.hint().find("free space"), std::string::npos);
    }
    auto loaded = ledger->load(1);
    ASSERT_TRUE(loaded.has_value()) << "reads go on";
    EXPECT_EQ(loaded->request.reason, "asked by email") << "nothing of the step was kept";

    std::filesystem::remove(dir / "filler");
    ledger->transact(1, [&](RequestState& s) {
        s.request.title = "fixed";
        AuditEvent e = by(po.person.id, at(2));
        e.action = "test.step";
        return Mutation{true, {e}};
    });
    EXPECT_EQ(ledger->load(1)->request.title, "fixed") << "writes come back with the space";
    EXPECT_TRUE(ledger->verify_audit().intact);
}

}  // namespace
}  // namespace datafix::ledger::testing
