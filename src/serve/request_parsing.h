// Parsing what a client sends beyond the HTTP framing (which Boost.Beast parses): the request
// target into path and query, and the threshold parameters. No Boost and no libtorch, so the fuzz
// target of the request path (fuzz/serve_request_fuzz.cc) links it alone.
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>

#include "models/model_spec.h"

namespace rapid {

// "%2F" and '+' decoded; false on a malformed escape ('%' not followed by two hex digits).
bool UrlDecode(const std::string& in, std::string* out);

// "/v1/models/x/picks?P_threshold=0.5&a=b" → path "/v1/models/x/picks" and query {P_threshold: 0.5,
// a: b} (decoded; a key without '=' has an empty value; a repeated key keeps the last value).
// False with *error on a malformed escape.
bool ParseTarget(const std::string& target, std::string* path, std::map<std::string, std::string>* query,
                 std::string* error);

// Query parameters → label thresholds with SeisBench's argument names: "<label>_threshold"
// (P_threshold, S_threshold; detection_threshold for the model's detection label), each a
// probability in (0, 1]; "format" is allowed and ignored here. False with *error (naming the
// parameter and what is expected) on anything else.
bool ParseThresholds(const std::map<std::string, std::string>& query, const ModelSpec& spec,
                     std::map<std::string, double>* thresholds, std::string* error);

}  // namespace rapid
