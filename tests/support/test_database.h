#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

namespace cycle_claimer::testing {

// A database of its own for one test, on the PostgreSQL that scripts/test.sh
// starts (TEST_DATABASE_URL, e.g. "postgresql://postgres@127.0.0.1:5432",
// without a database name). Created empty; dropped on destruction.
class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }

  // Runs `sql` (one or more statements, no parameters) and returns the result
  // of the last statement. Throws on error, failing the test.
  pqxx::result Exec(const std::string& sql);

  // The single value `sql` returns, as T.
  template <typename T>
  T Scalar(const std::string& sql) {
    return Exec(sql).at(0).at(0).as<T>();
  }

  // A new connection to this database.
  std::unique_ptr<pqxx::connection> Connect() const;

 private:
  std::string base_url_;
  std::string name_;
  std::string url_;
  std::unique_ptr<pqxx::connection> connection_;
};

// TEST_DATABASE_URL, or a test failure telling how to run the tests.
std::string TestDatabaseBaseUrl();

}  // namespace cycle_claimer::testing
