#pragma once

// A small Prometheus registry: counters and histograms with labels, and
// gauges read when scraped. Rendered in the text exposition format 0.0.4.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace cycle_claimer {

// A counter per combination of label values. Thread-safe.
class CounterFamily {
 public:
  CounterFamily(std::string name, std::string help,
                std::vector<std::string> labels);

  // Adds `amount` to the counter with these label values (one per label,
  // in order); creates it at 0 first if new.
  void Add(const std::vector<std::string>& values, int64_t amount = 1);
  // The counter's value; 0 when it was never touched.
  int64_t Value(const std::vector<std::string>& values) const;

  void Render(std::string& out) const;

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> labels_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, int64_t> values_;
};

// Durations in seconds, per value of one label. Thread-safe.
class HistogramFamily {
 public:
  // Upper bounds of the buckets, in seconds, ascending (+Inf is implied).
  static constexpr std::array<double, 16> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25,   0.5,   1,      2.5,   5,     10,    30,    60};

  HistogramFamily(std::string name, std::string help, std::string label);

  void Observe(const std::string& value, absl::Duration duration);
  // Observations with this label value.
  int64_t Count(const std::string& value) const;

  void Render(std::string& out) const;

 private:
  struct Series {
    std::array<int64_t, kBounds.size()> buckets{};  // not cumulative
    int64_t count = 0;
    double sum = 0;
  };
  const std::string name_;
  const std::string help_;
  const std::string label_;
  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
};

// One sample of a gauge: label name/value pairs and the value.
struct GaugeSample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// Everything the server exports. Counters are bumped by the call
// interceptor and the dispatcher; gauges are collected at scrape time from
// in-memory state (never a database query: the queue's figures come from a
// periodic sample).
class Metrics {
 public:
  Metrics();

  CounterFamily rpcs;          // method, code
  HistogramFamily latency;     // method
  CounterFamily claims;        // outcome: claimed, empty, or a status code
  CounterFamily cycles_claimed;
  CounterFamily completions;   // outcome: completed, lease_lost, not_found ...
  CounterFamily failures;      // outcome: retry, dead_letter, lease_lost ...
  CounterFamily releases;      // outcome: released, lease_lost ...
  CounterFamily renewals;      // outcome: renewed, lease_lost ...
  CounterFamily takeovers;     // expired leases taken over by a claim
  CounterFamily dead_lettered_on_claim;
  CounterFamily fencing_rejections;  // method

  // Adds a metric read at every scrape by `read`: a gauge, or a counter kept
  // elsewhere (`type` "gauge" or "counter").
  void AddCollected(std::string name, std::string type, std::string help,
                    std::function<std::vector<GaugeSample>()> read);

  // The text exposition of everything.
  std::string Render() const;

 private:
  struct Gauge {
    std::string name;
    std::string type;
    std::string help;
    std::function<std::vector<GaugeSample>()> read;
  };
  mutable std::mutex gauges_mu_;
  std::vector<Gauge> gauges_;
};

// A label value escaped for the text format (backslash, quote, newline).
std::string EscapeLabelValue(absl::string_view value);

}  // namespace cycle_claimer
