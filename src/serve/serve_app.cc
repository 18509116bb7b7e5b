#include "serve/serve_app.h"

#include <nlohmann/json.hpp>


#include "dispatch/resource_probe.h"
#include "io/mseed_reader.h"
#include "io/mseed_writer.h"
#include "sinks/picks_csv.h"
#include "serve/request_parsing.h"
#include "sinks/probability_writer.h"

namespace rapid {

namespace {

using json = nlohmann::ordered_json;

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse ErrorResponse(int status, const std::string& message) { return JsonResponse(status, {{"error", message}}); }

json PickJson(const Pick& p) {
  return {{"trace_id", p.trace_id}, {"phase", p.phase},       {"peak_time", FormatIsoMicros(p.peak_time)},
          {"peak_value", p.peak_value}, {"start_time", FormatIsoMicros(p.start_time)},
          {"end_time", FormatIsoMicros(p.end_time)}};
}

// How a picking request wants its answer.
struct AnswerShape {
  std::string model;
  bool annotate = false;     // the traces, not the picks
  bool csv = false;          // picks as picks.csv
  bool json_traces = false;  // traces as JSON, not miniSEED
};

// 429, 503 and 504 answers; the first two say when to come back.
HttpResponse Refusal(int status, const std::string& message) {
  HttpResponse r = ErrorResponse(status, message);
  if (status == 429 || status == 503) r.headers.push_back({"Retry-After", "1"});
  return r;
}

// A request whose `needs` bytes do not fit in the request memory: 413 when they never could, else
// 503 with Retry-After (requests in progress hold the rest).
HttpResponse MemoryRefusal(int64_t needs, const std::string& what, const ByteBudget& budget) {
  const std::string of = " of " + FormatBytes(budget.capacity()) + " (--max-request-memory)";
  if (needs > budget.capacity()) {
    return ErrorResponse(413, what + " needs " + FormatBytes(needs) + ", more than the request memory" + of);
  }
  return Refusal(503, "request memory full: " + what + " needs " + FormatBytes(needs) +
                          " and requests in progress hold " + FormatBytes(budget.held()) + of);
}

// What a request's probability traces hold per value until its answer is written
// (ModelService::RequestBytes): the traces as float32, and for /annotate the answer's encoding
// besides. Measured on 6 h of one 100 Hz station (6.5 M values), peak resident memory above the
// picks route's: miniSEED 18 bytes per value (a copy in double, the float32 records, the growing
// string), JSON 72 (document values of 16 bytes, their copies, about 21 characters of text per
// number in a growing string); with margin.
int64_t BytesPerTraceValue(const AnswerShape& shape) {
  if (!shape.annotate) return sizeof(float);
  return sizeof(float) + (shape.json_traces ? 80 : 24);
}

// The answer to a computed request. Records of the body that could not be decoded (`problems`)
// make it 400, with what the good records gave.
HttpResponse PickingAnswer(const ServeResult& r, const AnswerShape& shape, const std::vector<std::string>& problems,
                           const ModelSpec& spec) {
  const int status = problems.empty() ? 200 : 400;
  if (shape.annotate && !shape.json_traces) {
    std::vector<TraceSegment> segments;
    for (auto& [file, segs] : ProbabilityTraceSegments(r.traces, spec)) {
      segments.insert(segments.end(), std::make_move_iterator(segs.begin()), std::make_move_iterator(segs.end()));
    }
    HttpResponse m;
    m.status = status;
    m.content_type = "application/vnd.fdsn.mseed";
    if (Status s = EncodeMseed(segments, SampleEncoding::kFloat32, 512, &m.body); !s.ok()) {
      return ErrorResponse(500, "encoding the traces: " + s.message());
    }
    return m;
  }
  if (shape.csv && !shape.annotate) {
    HttpResponse c;
    c.status = status;
    c.content_type = "text/csv";
    c.body = FormatPicksCsv(r.picks, shape.model);
    return c;
  }
  json body = {{"model", shape.model}};
  if (shape.annotate) {
    json traces = json::array();
    for (const Annotation& a : r.traces) {
      for (size_t l = 0; l < a.traces.size(); ++l) {
        traces.push_back({{"trace_id", a.trace_id}, {"label", spec.labels[l]}, {"start_time", FormatIsoMicros(a.start)},
                          {"rate_hz", a.rate_hz}, {"data", a.traces[l]}});
      }
    }
    body["traces"] = std::move(traces);
  } else {
    json picks = json::array(), detections = json::array();
    for (const Pick& p : r.picks) picks.push_back(PickJson(p));
    for (const Pick& p : r.detections) detections.push_back(PickJson(p));
    body["picks"] = std::move(picks);
    body["detections"] = std::move(detections);
  }
  std::vector<std::string> errors = problems;
  errors.insert(errors.end(), r.errors.begin(), r.errors.end());
  body["stations"] = r.stations;
  body["windows"] = r.windows;
  body["errors"] = errors;
  body["notes"] = r.notes;
  body["timing_ms"] = {{"queue", r.queue_ms}, {"compute", r.compute_ms}, {"total", r.total_ms}};
  return JsonResponse(status, body);
}

}  // namespace

ServeApp::ServeApp(ServeAppOptions opts, std::vector<std::unique_ptr<ModelService>> models) : opts_(std::move(opts)) {
  for (auto& m : models) {
    ServeObserver observer;
    observer.on_batch = [this](int64_t windows, double forward_s) { metrics_.ObserveBatch(windows, forward_s); };
    observer.on_request_done = [this](int64_t, double queue_s, double) { metrics_.ObserveQueueWait(queue_s); };
    observer.on_windows_cancelled = [this](int64_t windows) { metrics_.CountCancelled(windows); };
    m->set_observer(std::move(observer));
    const std::string name = m->name();
    models_[name] = std::move(m);
  }
}

ServeApp::~ServeApp() = default;

void ServeApp::BeginDrain() { draining_ = true; }

bool ServeApp::Drain(std::chrono::milliseconds timeout) {
  draining_ = true;
  const auto deadline = ServeClock::now() + timeout;
  bool all = true;
  for (auto& [name, m] : models_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ServeClock::now());
    all = m->Drain(std::max(left, std::chrono::milliseconds(0))) && all;
  }
  return all;
}

void ServeApp::Shutdown() { models_.clear(); }

HttpResponse ServeApp::ModelsList() const {
  json list = json::array();
  for (const auto& [name, m] : models_) {
    const ModelSpec& s = m->spec();
    json thresholds = json::object();
    for (const auto& [label, th] : s.thresholds) thresholds[label] = th;
    list.push_back({{"name", name},
                    {"class", s.class_name},
                    {"labels", s.labels},
                    {"component_order", s.component_order},
                    {"rate_hz", s.rate_hz},
                    {"in_samples", s.in_samples},
                    {"thresholds", thresholds},
                    {"weights_sha256", m->weights_sha256()},
                    {"backend", m->backend()},
                    {"instances", m->plan().instances},
                    {"batch_size", m->plan().batch_size},
                    {"host_budget_bytes", m->plan().host_budget_bytes},
                    {"max_queue_windows", m->max_queue_windows()}});
  }
  return JsonResponse(200, {{"models", list}});
}

void ServeApp::Handle(HttpRequest&& request, HttpServer::Respond respond) {
  const auto received = ServeClock::now();
  // Answers through here are counted in the metrics, by route.
  auto answer = [this, received, respond](const std::string& model, const std::string& route, HttpResponse r) {
    metrics_.CountRequest(model, route, r.status,
                          std::chrono::duration<double>(ServeClock::now() - received).count());
    respond(std::move(r));
  };
  const std::string& path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  auto method_not_allowed = [&](const std::string& route, const char* allow) {
    HttpResponse r = ErrorResponse(405, request.method + " is not allowed on " + path + " (use " + allow + ")");
    r.headers.push_back({"Allow", allow});
    answer("", route, std::move(r));
  };
  if (path == "/healthz") {
    if (!get) return method_not_allowed("healthz", "GET");
    return answer("", "healthz", JsonResponse(200, {{"status", "alive"}}));
  }
  if (path == "/readyz") {
    if (!get) return method_not_allowed("readyz", "GET");
    if (draining_) return answer("", "readyz", JsonResponse(503, {{"status", "draining"}}));
    return answer("", "readyz", JsonResponse(200, {{"status", "ready"}}));
  }
  if (!opts_.auth_token.empty() && request.Header("authorization") != "Bearer " + opts_.auth_token) {
    HttpResponse r = ErrorResponse(401, "this server needs 'Authorization: Bearer <token>'");
    r.headers.push_back({"WWW-Authenticate", "Bearer"});
    return answer("", "auth", std::move(r));
  }
  if (path == "/metrics") {
    if (!get) return method_not_allowed("metrics", "GET");
    std::map<std::string, int64_t> queued;
    for (const auto& [name, m] : models_) queued[name] = m->queued_windows();
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.Render(queued, CurrentRssBytes(), opts_.request_memory);
    return answer("", "metrics", std::move(r));
  }
  if (path == "/v1/models") {
    if (!get) return method_not_allowed("models", "GET");
    return answer("", "models", ModelsList());
  }
  static const std::string kPrefix = "/v1/models/";
  if (path.compare(0, kPrefix.size(), kPrefix) == 0) {
    const std::string rest = path.substr(kPrefix.size());
    const size_t slash = rest.find('/');
    const std::string model = rest.substr(0, slash);
    const std::string route = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (route == "picks" || route == "annotate") {
      auto it = models_.find(model);
      if (it == models_.end()) {
        std::string known;
        for (const auto& [name, m] : models_) known += (known.empty() ? "" : ", ") + name;
        return answer(model, route, ErrorResponse(404, "no model '" + model + "' here (served: " + known + ")"));
      }
      if (request.method != "POST") return method_not_allowed(route, "POST");
      ModelService* service = it->second.get();
      return HandlePicking(std::move(request), service, route == "annotate",
                           [answer, model, route](HttpResponse r) { answer(model, route, std::move(r)); });
    }
  }
  answer("", "unknown", ErrorResponse(404, "no route " + path + " (see docs/serve.md)"));
}

void ServeApp::HandlePicking(HttpRequest&& request, ModelService* model, bool annotate, HttpServer::Respond respond) {
  ServeRequest job;
  job.received = ServeClock::now();
  job.deadline = job.received + opts_.request_timeout;
  job.keep_traces = annotate;
  std::string error;
  if (!ParseThresholds(request.query, model->spec(), &job.thresholds, &error)) return respond(ErrorResponse(400, error));
  if (draining_) return respond(Refusal(503, "draining: not accepting new requests"));
  if (request.body.empty()) return respond(ErrorResponse(400, "empty body: send miniSEED records"));
  // A full queue refuses before the body is decoded, so overload costs little per refused request
  // (Submit checks again with the request's own windows).
  if (model->queued_windows() >= model->max_queue_windows()) {
    return respond(Refusal(429, "queue full: " + std::to_string(model->queued_windows()) +
                                    " windows queued, the limit is " + std::to_string(model->max_queue_windows())));
  }
  AnswerShape shape;
  shape.model = model->name();
  shape.annotate = annotate;
  const std::string accept = request.Header("accept");
  const auto format = request.query.count("format") > 0 ? request.query.at("format") : std::string();
  shape.csv = accept.find("text/csv") != std::string::npos || format == "csv";
  shape.json_traces = accept.find("application/json") != std::string::npos || format == "json";
  // The request memory (docs/serve.md) holds the body while it is decoded, decoding's own bound,
  // then the decoded request until its answer is written.
  ByteLease memory = std::move(request.memory);
  const int64_t body_bytes = static_cast<int64_t>(request.body.size());
  const int64_t decoding = (1 + kDecodeBytesPerInputByte) * body_bytes;
  if (!memory.Resize(decoding)) {
    return respond(MemoryRefusal(decoding, "decoding this " + std::to_string(body_bytes) + "-byte body",
                                 *memory.budget()));
  }
  MseedFileContents contents;
  Status decoded = DecodeMseedBytes(request.body, "request body", ReaderOptions(), &contents);
  if (!decoded.ok()) {
    return respond(JsonResponse(400, {{"error", decoded.message()}, {"problems", contents.problems}}));
  }
  std::string().swap(request.body);
  job.segments = std::move(contents.segments);
  const int64_t needs = ModelService::RequestBytes(job.segments, model->spec(), BytesPerTraceValue(shape));
  if (!memory.Resize(needs)) {
    return respond(MemoryRefusal(needs, "this request (its samples, resampling and answer)", *memory.budget()));
  }
  job.memory = std::move(memory);
  const ModelSpec& spec = model->spec();
  model->Submit(std::move(job), [respond, problems = std::move(contents.problems), shape, &spec](ServeResult&& r) {
    if (r.status != 200) return respond(Refusal(r.status, r.error));
    HttpResponse answer = PickingAnswer(r, shape, problems, spec);
    answer.hold = std::make_shared<ByteLease>(std::move(r.memory));
    respond(std::move(answer));
  });
}

}  // namespace rapid
