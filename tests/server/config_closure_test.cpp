// The keys behind the write closure and the driver's identity: append_only,
// revert_without_triggers, vouch_security_definer and [environment.person_settings]; mistakes name
// their key, and a person an environment does not map is refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

std::string environment(const std::string& extra) {
    return "[[environment]]\nname = \"dev\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
           "system_identifier = \"7301234567890123458\"\napprovals = [\"pair\"]\n" +
           extra;
}

std::string refusal(const std::string& text) {
    try {
        Config::parse(text, "datafix.toml", "/etc/datafix");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        return e.message();
    }
    ADD_FAILURE() << "accepted: " << text;
    return {};
}

model::Person person(const std::string& email) {
    model::Person p;
    p.id = 7;
    p.name = "Dana Driver";
    p.email = email;
    return p;
}

TEST(ConfigClosure, AppendOnlyTablesAndRevertWithoutTriggersAreRead) {
    Config c = Config::parse(environment("append_only = [\"app_public.record_version\"]\n"
                                         "revert_without_triggers = true\n"),
                             "datafix.toml", "/etc/datafix");
    const auto& t = c.environments.at(0).target;
    EXPECT_EQ(t.append_only_tables, std::vector<std::string>{"app_public.record_version"});
    EXPECT_TRUE(t.revert_without_triggers);
    Config plain = Config::parse(environment(""), "datafix.toml", "/etc/datafix");
    EXPECT_FALSE(plain.environments.at(0).target.revert_without_triggers);
    EXPECT_TRUE(plain.environments.at(0).target.append_only_tables.empty());
}

TEST(ConfigClosure, TheCapturesWorkMemIsAnEnvironmentsSize) {
    Config plain = Config::parse(environment(""), "datafix.toml", "/etc/datafix");
    EXPECT_EQ(plain.environments.at(0).target.work_mem, "64MB");
    Config set =
        Config::parse(environment("work_mem = \"256MB\"\n"), "datafix.toml", "/etc/datafix");
    EXPECT_EQ(set.environments.at(0).target.work_mem, "256MB");
    for (const char* good : {"65536kB", "1GB", "67108864B", "65536"}) {
        Config sized = Config::parse(environment(std::string("work_mem = \"") + good + "\"\n"),
                                     "datafix.toml", "/etc/datafix");
        EXPECT_EQ(sized.environments.at(0).target.work_mem, good);
    }
    for (const char* bad : {"\"64 MB\"", "\"64mb\"", "\"MB\"", "\"\"", "64"}) {
        EXPECT_NE(refusal(environment(std::string("work_mem = ") + bad + "\n"))
                      .find("environment \"dev\".work_mem"),
                  std::string::npos)
            << bad;
    }
}

TEST(ConfigClosure, MistakesNameTheirKey) {
    EXPECT_NE(refusal(environment("append_only = \"record_version\"\n"))
                  .find("environment \"dev\".append_only"),
              std::string::npos);
    EXPECT_NE(refusal(environment("append_only = [\"record_version\"]\n")).find("schema.table"),
              std::string::npos);
    EXPECT_NE(refusal(environment("[environment.person_settings]\n"
                                  "\"dev@example.com\" = { \"search_path\" = \"x\" }\n"))
                  .find("environment \"dev\".person_settings.dev@example.com.search_path"),
              std::string::npos);
    EXPECT_NE(refusal(environment("[environment.person_settings]\n"
                                  "\"not-an-address\" = { \"jwt.claims.sub\" = \"x\" }\n"))
                  .find("e-mail"),
              std::string::npos);
}

TEST(ConfigClosure, SecurityDefinerFunctionsAreVouchedForByName) {
    Config c =
        Config::parse(environment("vouch_security_definer = [\"app_public.current_user_id\"]\n"),
                      "datafix.toml", "/etc/datafix");
    EXPECT_EQ(c.environments.at(0).target.vouch_security_definer,
              std::vector<std::string>{"app_public.current_user_id"});
    Config plain = Config::parse(environment(""), "datafix.toml", "/etc/datafix");
    EXPECT_TRUE(plain.environments.at(0).target.vouch_security_definer.empty());

    EXPECT_NE(refusal(environment("vouch_security_definer = \"app_public.current_user_id\"\n"))
                  .find("environment \"dev\".vouch_security_definer"),
              std::string::npos);
    auto no_schema = refusal(environment("vouch_security_definer = [\"current_user_id\"]\n"));
    EXPECT_NE(no_schema.find("environment \"dev\".vouch_security_definer"), std::string::npos);
    EXPECT_NE(no_schema.find("schema.function"), std::string::npos) << no_schema;
    EXPECT_NE(refusal(environment("vouch_security_definer = [\"app_public.current_user_id()\"]\n"))
                  .find("without arguments"),
              std::string::npos);
}

TEST(ConfigClosure, EachDriverRunsWithTheirOwnSettings) {
    Config c = Config::parse(
        environment("session_settings = { \"jwt.claims.sub\" = \"shared\", \"app.x\" = \"1\" }\n"
                    "[environment.person_settings]\n"
                    "\"dana@example.com\" = { \"jwt.claims.sub\" = "
                    "\"0f6c0c4e-1b7e-4b8e-9a51-2f6d9d1d7a10\" }\n"),
        "datafix.toml", "/etc/datafix");
    auto as_dana = as_person(c.environments.at(0), person("dana@example.com"));
    EXPECT_EQ(as_dana.target.session_settings.at("jwt.claims.sub"),
              "0f6c0c4e-1b7e-4b8e-9a51-2f6d9d1d7a10");
    EXPECT_EQ(as_dana.target.session_settings.at("app.x"), "1") << "the rest stays";
    try {
        as_person(c.environments.at(0), person("sam@example.com"));
        ADD_FAILURE() << "an unmapped driver ran";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::rule);
        EXPECT_NE(e.message().find("no entry for sam@example.com"), std::string::npos);
        EXPECT_NE(e.hint().find("[environment.person_settings] \"sam@example.com\""),
                  std::string::npos);
    }
    Config unmapped = Config::parse(environment(""), "datafix.toml", "/etc/datafix");
    EXPECT_NO_THROW(as_person(unmapped.environments.at(0), person("sam@example.com")))
        << "without person_settings everyone runs with the environment's settings";
}

}  // namespace
}  // namespace datafix::server

namespace datafix::server {
namespace {

TEST(ConfigSecrets, ABackupPasswordNeverReachesPgDumpsCommandLine) {
    std::string refused;
    try {
        Config::parse(
            environment("[environment.backup]\ndirectory = \"/tmp\"\n"
                        "conninfo = \"dbname=app user=datafix_backup password=s3cret\"\n"),
            "datafix.toml", "/etc/datafix");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::config);
        refused = e.describe();
    }
    EXPECT_NE(refused.find("environment \"dev\".backup.conninfo: holds a password"),
              std::string::npos)
        << refused;
    EXPECT_NE(refused.find("passfile"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("s3cret"), std::string::npos) << "the message never repeats it";
}

TEST(ConfigSecrets, AnSmtpPasswordFileReadableByOthersIsRefused) {
    auto path =
        std::filesystem::temp_directory_path() / ("datafix-smtp-" + std::to_string(::getpid()));
    std::ofstream(path) << "mail-secret\n";
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
                  std::filesystem::perms::group_read | std::filesystem::perms::others_read);
    std::string notify =
        "[notify]\nbase_url = \"https://datafix.example.com\"\n"
        "[notify.channels.mail]\nkind = \"email\"\nurl = \"smtp://127.0.0.1:25\"\n"
        "from = \"datafix@example.com\"\nusername = \"datafix\"\n"
        "password_file = \"" +
        path.string() + "\"\n";
    std::string refused;
    try {
        Config::parse(environment("") + notify, "datafix.toml", "/etc/datafix");
    } catch (const Error& e) {
        refused = e.message();
    }
    EXPECT_NE(refused.find("is readable by other users; chmod 600"), std::string::npos) << refused;
    std::filesystem::permissions(
        path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    EXPECT_NO_THROW(Config::parse(environment("") + notify, "datafix.toml", "/etc/datafix"));
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace datafix::server
