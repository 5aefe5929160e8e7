// [display_keys]: the column people name a table's rows by, globally and per environment (the
// environment's own win); mistakes name their key and the environment.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "server/config.hpp"

namespace datafix::server {
namespace {

std::string environment(const std::string& name, const std::string& extra) {
    return "[[environment]]\nname = \"" + name +
           "\"\nconninfo = \"dbname=app\"\nrole = \"app_owner\"\n"
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

TEST(ConfigDisplayKeys, GlobalKeysAndAnEnvironmentsOwn) {
    Config c =
        Config::parse(environment("dev", "display_keys = { \"app_public.app_user\" = \"sub\" }\n") +
                          environment("test", "") +
                          "[display_keys]\n\"app_public.application\" = \"application_number\"\n"
                          "\"app_public.app_user\" = \"email_address\"\n",
                      "datafix.toml", "/etc/datafix");
    auto dev = c.display_keys_of("dev");
    EXPECT_EQ(dev.at("app_public.application"), "application_number");
    EXPECT_EQ(dev.at("app_public.app_user"), "sub");
    auto test = c.display_keys_of("test");
    EXPECT_EQ(test.at("app_public.app_user"), "email_address");
    EXPECT_TRUE(Config::parse(environment("dev", ""), "datafix.toml", "/etc/datafix")
                    .display_keys_of("dev")
                    .empty());
}

TEST(ConfigDisplayKeys, MistakesNameTheKeyAndTheEnvironment) {
    EXPECT_NE(refusal(environment("prod", "display_keys = { \"application\" = \"number\" }\n"))
                  .find("environment \"prod\".display_keys.\"application\": must name a table "
                        "as \"schema.table\""),
              std::string::npos);
    EXPECT_NE(refusal(environment("dev", "") + "[display_keys]\n\"app_public.application\" = 17\n")
                  .find("display_keys.\"app_public.application\": must be a column name"),
              std::string::npos);
    EXPECT_NE(refusal(environment("dev", "") + "display_keys = [\"app_public.application\"]\n")
                  .find("display_keys: must be a table"),
              std::string::npos);
}

}  // namespace
}  // namespace datafix::server
