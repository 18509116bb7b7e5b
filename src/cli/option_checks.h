// Checks of command-line values, with answers in RAPID's words. CLI11 runs a validator on the text
// before converting it and reports a failure as "--batch-size: must be a whole number ≥ 1, not '0'":
// the option, what is expected, and the value given. Values from a --config file pass through the
// same checks (config_file.h). A value that passes converts without error, so the commands convert
// with the parsers named here and need no second message.
// Thread safety: the validators are values; use them from one thread.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

// Decimal digits (an optional leading '-'), within [min, max].
CLI::Validator WholeNumberAtLeast(int64_t min, int64_t max = std::numeric_limits<int64_t>::max());
// A duration as ParseDurationNs reads it ("10m", "1.5h", "90s"), more than zero unless
// `zero_ok`; with `whole_seconds`, a whole number of seconds; at most `max_ns` when it is > 0.
CLI::Validator DurationValue(bool zero_ok, bool whole_seconds = false, int64_t max_ns = 0);
// An ISO-8601 UTC time as ParseIsoTime reads it.
CLI::Validator IsoTimeValue();
// A size as ParseByteSize reads it ("4G", "512M"), more than zero.
CLI::Validator ByteSizeValue();
// Any text but the empty one; `what` says what it names ("a file, folder or glob").
CLI::Validator NotEmpty(const std::string& what);
// One of `names`.
CLI::Validator OneOf(std::vector<std::string> names);
// Comma-separated, each one of `names`.
CLI::Validator ListOf(std::vector<std::string> names);
// A CPU list (ParseCpuList), sampling rates (ParseRatesHz). (--devices is checked by the commands:
// ParseDeviceList also asks libtorch which devices exist.)
CLI::Validator CpuListValue();
CLI::Validator RatesValue();

// An address to listen on, HOST:PORT with a port from 0 to 65535 ("[::1]:8080" for IPv6).
CLI::Validator ListenValue();
// A value ListenValue accepted → its host (brackets removed) and port.
void SplitListenAddress(const std::string& address, std::string* host, int* port);

// A probability threshold: a number in (0, 1].
CLI::Validator ThresholdValue();
// Band-pass corners "LOW,HIGH" in Hz (ParseBandHz).
CLI::Validator BandValue();
// "1,45" → 1 and 45: two numbers, 0 < low < high. InvalidArgument otherwise.
Status ParseBandHz(const std::string& text, double* low_hz, double* high_hz);

// The message for a command-line error: CLI11's text, then where the options are listed.
std::string UsageErrorMessage(const CLI::App& app, const CLI::ParseError& error);
// `rapid` alone: the subcommands, one line each.
std::string SubcommandList(const CLI::App& app);

}  // namespace rapid
