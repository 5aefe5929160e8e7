// What a killed backup leaves behind: its .partial file is removed when the server starts, and
// nothing else in the directory is touched.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "backup/backup.hpp"

namespace datafix::backup {
namespace {

TEST(PartialBackups, OnlyDatafixsUnfinishedArchivesAreRemoved) {
    auto dir =
        std::filesystem::temp_directory_path() / ("datafix-partial-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    for (const char* name :
         {"request-7-prod-20261130T101500Z.dump.partial", "request-7-prod-20261130T101000Z.dump",
          "notes.partial", "other-7-prod.dump.partial"}) {
        std::ofstream(dir / name) << "x";
    }
    BackupSettings settings;
    settings.method = Method::pg_dump;
    settings.pg_dump.directory = dir.string();
    auto removed = remove_partial_backups(settings);
    EXPECT_EQ(removed, std::vector<std::string>{"request-7-prod-20261130T101500Z.dump.partial"});
    EXPECT_FALSE(std::filesystem::exists(dir / "request-7-prod-20261130T101500Z.dump.partial"));
    EXPECT_TRUE(std::filesystem::exists(dir / "request-7-prod-20261130T101000Z.dump"));
    EXPECT_TRUE(std::filesystem::exists(dir / "notes.partial"));
    EXPECT_TRUE(std::filesystem::exists(dir / "other-7-prod.dump.partial"));

    BackupSettings command;
    command.method = Method::command;
    EXPECT_TRUE(remove_partial_backups(command).empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace datafix::backup
