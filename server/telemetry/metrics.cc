#include "server/telemetry/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace cycle_claimer {
namespace {

void Header(std::string& out, const std::string& name, const std::string& help,
            absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

std::string Labels(const std::vector<std::string>& names,
                   const std::vector<std::string>& values) {
  if (names.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  return out + "}";
}

std::string Number(double value) { return absl::StrFormat("%.17g", value); }

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out += ch;
    }
  }
  return out;
}

CounterFamily::CounterFamily(std::string name, std::string help,
                             std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}

void CounterFamily::Add(const std::vector<std::string>& values,
                        int64_t amount) {
  std::lock_guard lock(mu_);
  values_[values] += amount;
}

int64_t CounterFamily::Value(const std::vector<std::string>& values) const {
  std::lock_guard lock(mu_);
  const auto found = values_.find(values);
  return found == values_.end() ? 0 : found->second;
}

void CounterFamily::Render(std::string& out) const {
  Header(out, name_, help_, "counter");
  std::lock_guard lock(mu_);
  if (labels_.empty() && values_.empty()) absl::StrAppend(&out, name_, " 0\n");
  for (const auto& [values, count] : values_) {
    absl::StrAppend(&out, name_, Labels(labels_, values), " ", count, "\n");
  }
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::string label)
    : name_(std::move(name)), help_(std::move(help)), label_(std::move(label)) {}

void HistogramFamily::Observe(const std::string& value,
                              absl::Duration duration) {
  const double seconds = absl::ToDoubleSeconds(duration);
  std::size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  std::lock_guard lock(mu_);
  Series& series = series_[value];
  if (bucket < kBounds.size()) ++series.buckets[bucket];
  ++series.count;
  series.sum += seconds;
}

int64_t HistogramFamily::Count(const std::string& value) const {
  std::lock_guard lock(mu_);
  const auto found = series_.find(value);
  return found == series_.end() ? 0 : found->second.count;
}

void HistogramFamily::Render(std::string& out) const {
  Header(out, name_, help_, "histogram");
  std::lock_guard lock(mu_);
  for (const auto& [value, series] : series_) {
    const std::string label =
        absl::StrCat(label_, "=\"", EscapeLabelValue(value), "\"");
    int64_t cumulative = 0;
    for (std::size_t i = 0; i < kBounds.size(); ++i) {
      cumulative += series.buckets[i];
      absl::StrAppend(&out, name_, "_bucket{", label, ",le=\"",
                      Number(kBounds[i]), "\"} ", cumulative, "\n");
    }
    absl::StrAppend(&out, name_, "_bucket{", label, ",le=\"+Inf\"} ",
                    series.count, "\n", name_, "_sum{", label, "} ",
                    Number(series.sum), "\n", name_, "_count{", label, "} ",
                    series.count, "\n");
  }
}

Metrics::Metrics()
    : rpcs("cycle_claimer_rpcs_total",
           "RPCs answered, by method and gRPC status code.",
           {"method", "code"}),
      latency("cycle_claimer_rpc_duration_seconds",
              "Time from a call's arrival to its answer (long polls include "
              "their wait).",
              "method"),
      claims("cycle_claimer_claims_total",
             "ClaimNextCycle and ClaimCycles calls by outcome: claimed, "
             "empty (nothing claimable), or the error's status code.",
             {"outcome"}),
      cycles_claimed("cycle_claimer_cycles_claimed_total",
                     "Cycles handed out under a lease.", {}),
      completions("cycle_claimer_completions_total",
                  "Completions (batch items counted one by one) by outcome: "
                  "completed, lease_lost, not_found, or the status code.",
                  {"outcome"}),
      failures("cycle_claimer_failures_total",
               "FailCycle calls by outcome: retry, dead_letter, lease_lost, "
               "or the status code.",
               {"outcome"}),
      releases("cycle_claimer_releases_total",
               "ReleaseCycle calls by outcome: released, lease_lost, or the "
               "status code.",
               {"outcome"}),
      renewals("cycle_claimer_renewals_total",
               "RenewLease calls by outcome: renewed, lease_lost, or the "
               "status code.",
               {"outcome"}),
      takeovers("cycle_claimer_lease_takeovers_total",
                "Expired leases taken over by a claim (the holder was presumed "
                "dead).",
                {}),
      dead_lettered_on_claim(
          "cycle_claimer_dead_lettered_on_claim_total",
          "Cycles whose expired lease used up their last attempt, found by a "
          "claim and sent to DEAD_LETTER.",
          {}),
      fencing_rejections(
          "cycle_claimer_fencing_rejections_total",
          "Calls (and batch items) refused because their lease token is no "
          "longer the cycle's live lease.",
          {"method"}) {}

void Metrics::AddCollected(std::string name, std::string type,
                           std::string help,
                           std::function<std::vector<GaugeSample>()> read) {
  std::lock_guard lock(gauges_mu_);
  gauges_.push_back(
      {std::move(name), std::move(type), std::move(help), std::move(read)});
}

std::string Metrics::Render() const {
  std::string out;
  for (const CounterFamily* family :
       {&rpcs, &claims, &cycles_claimed, &completions, &failures, &releases,
        &renewals, &takeovers, &dead_lettered_on_claim,
        &fencing_rejections}) {
    family->Render(out);
  }
  latency.Render(out);
  std::lock_guard lock(gauges_mu_);
  for (const Gauge& gauge : gauges_) {
    Header(out, gauge.name, gauge.help, gauge.type);
    for (const GaugeSample& sample : gauge.read()) {
      std::string labels;
      for (const auto& [name, value] : sample.labels) {
        absl::StrAppend(&labels, labels.empty() ? "{" : ",", name, "=\"",
                        EscapeLabelValue(value), "\"");
      }
      if (!labels.empty()) labels += "}";
      absl::StrAppend(&out, gauge.name, labels, " ", Number(sample.value),
                      "\n");
    }
  }
  return out;
}

}  // namespace cycle_claimer
