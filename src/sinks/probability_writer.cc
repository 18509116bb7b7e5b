#include "sinks/probability_writer.h"

#include <map>

#include "io/mseed_writer.h"

namespace rapid {

namespace {

// "4O.BP01." → {network, station, location}.
ChannelId ParseTraceId(const std::string& trace_id) {
  ChannelId id;
  size_t a = trace_id.find('.');
  size_t b = trace_id.find('.', a + 1);
  id.network = trace_id.substr(0, a);
  id.station = trace_id.substr(a + 1, b - a - 1);
  id.location = trace_id.substr(b + 1);
  return id;
}

}  // namespace

std::map<std::string, std::vector<TraceSegment>> ProbabilityTraceSegments(const std::vector<Annotation>& annotations,
                                                                         const ModelSpec& spec) {
  std::map<std::string, std::vector<TraceSegment>> files;
  for (const Annotation& a : annotations) {
    for (size_t l = 0; l < a.traces.size(); ++l) {
      const std::string& label = spec.labels[l];
      TraceSegment seg;
      seg.id = ParseTraceId(a.trace_id);
      seg.id.channel = label.substr(0, 3);
      seg.start = a.start;
      seg.rate_hz = a.rate_hz;
      seg.samples.assign(a.traces[l].begin(), a.traces[l].end());
      files[a.trace_id + "." + spec.class_name + "_" + label + ".mseed"].push_back(std::move(seg));
    }
  }
  return files;
}

Status WriteProbabilityTraces(const std::string& dir, const std::vector<Annotation>& annotations,
                              const ModelSpec& spec, std::vector<std::string>* files_written) {
  // Blocks of a station are in time order in `annotations`, so in each file.
  for (const auto& [name, segments] : ProbabilityTraceSegments(annotations, spec)) {
    const std::string path = dir + "/" + name;
    RAPID_RETURN_IF_ERROR(WriteMseedFile(path, segments, SampleEncoding::kFloat32));
    if (files_written != nullptr) files_written->push_back(path);
  }
  return Status::OK();
}

}  // namespace rapid
