#include "tests/support/test_database.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <stdexcept>

#include "absl/strings/str_cat.h"

namespace cycle_claimer::testing {
namespace {

std::string UniqueName() {
  const ::testing::TestInfo* info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info == nullptr ? "t" : absl::StrCat("t_", info->name());
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  name = name.substr(0, 40);
  std::random_device random;
  return absl::StrCat(name, "_", random() % 1000000000);
}

}  // namespace

std::string TestDatabaseBaseUrl() {
  const char* url = std::getenv("TEST_DATABASE_URL");
  if (url == nullptr || *url == '\0') {
    throw std::runtime_error(
        "TEST_DATABASE_URL is not set: run the tests with scripts/test.sh, "
        "which starts a throwaway PostgreSQL");
  }
  return url;
}

TestDatabase::TestDatabase()
    : base_url_(TestDatabaseBaseUrl()),
      name_(UniqueName()),
      url_(absl::StrCat(base_url_, "/", name_)) {
  pqxx::connection admin(absl::StrCat(base_url_, "/postgres"));
  pqxx::nontransaction tx(admin);
  tx.exec(absl::StrCat("CREATE DATABASE ", tx.quote_name(name_)));
  connection_ = std::make_unique<pqxx::connection>(url_);
}

TestDatabase::~TestDatabase() {
  connection_.reset();
  try {
    pqxx::connection admin(absl::StrCat(base_url_, "/postgres"));
    pqxx::nontransaction tx(admin);
    tx.exec(absl::StrCat("DROP DATABASE IF EXISTS ", tx.quote_name(name_),
                         " WITH (FORCE)"));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot drop test database " << name_ << ": " << e.what();
  }
}

pqxx::result TestDatabase::Exec(const std::string& sql) {
  pqxx::nontransaction tx(*connection_);
  return tx.exec(sql);
}

std::unique_ptr<pqxx::connection> TestDatabase::Connect() const {
  return std::make_unique<pqxx::connection>(url_);
}

}  // namespace cycle_claimer::testing
