#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "tests/support/test_database.h"

namespace cycle_claimer::testing {

// How the workers of one race claim and complete.
struct RaceMode {
  std::string name;
  int workers;
  int batch;  // 1: ClaimNextCycle + CompleteCycle; more: the batch RPCs
  bool coalesce;
};

// Names the mode in test output instead of dumping its bytes.
void PrintTo(const RaceMode& mode, std::ostream* os);

// Runs `mode.workers` workers at once against a server whose database `db`
// holds exactly `cycles` cycles, all AWAITING_REBALANCE. Each worker has
// channels of its own from `new_channel` and claims (`mode.batch` at a time)
// and completes (total_net_profit_krw 1000.5) until told nothing is
// claimable. Records a test failure unless every cycle was handed out once,
// with lease token 1, and completed once; no worker was told "nothing
// claimable" while more than workers × batch cycles were unclaimed; and the
// tables arbitrage_cycles and cycle_claimer.cycle_leases show every cycle
// COMPLETED once, its lease cleared, with no retry. `mode.coalesce` is the
// caller's to apply when it starts the server.
void RunClaimRace(
    const RaceMode& mode, int cycles,
    const std::function<std::shared_ptr<grpc::Channel>()>& new_channel,
    TestDatabase& db);

}  // namespace cycle_claimer::testing
