// Many workers racing over real channels: every cycle is handed out and
// completed exactly once, and nobody is told "nothing to do" while work is
// plentiful.

#include <gtest/gtest.h>

#include "tests/support/claim_race.h"
#include "tests/support/server_fixture.h"

namespace cycle_claimer::testing {
namespace {

class ClaimRaceTest : public ServerTest,
                      public ::testing::WithParamInterface<RaceMode> {};

INSTANTIATE_TEST_SUITE_P(
    Modes, ClaimRaceTest,
    ::testing::Values(RaceMode{"Unary32Workers", 32, 1, true},
                      RaceMode{"Unary64WorkersCoalesced", 64, 1, true},
                      RaceMode{"Unary64WorkersNotCoalesced", 64, 1, false},
                      RaceMode{"BatchOf10With64WorkersCoalesced", 64, 10, true},
                      RaceMode{"BatchOf10With64WorkersNotCoalesced", 64, 10,
                               false}),
    [](const ::testing::TestParamInfo<RaceMode>& info) {
      return info.param.name;
    });

TEST_P(ClaimRaceTest, WorkersCompleteTenThousandCyclesExactlyOnce) {
  constexpr int kCycles = 10000;
  ServerOptions options = DefaultOptions();
  options.coalesce = GetParam().coalesce;
  StartServer(options);
  InsertCycles(kCycles);
  RunClaimRace(
      GetParam(), kCycles, [this] { return NewChannel(); }, db_);
}

}  // namespace
}  // namespace cycle_claimer::testing
