#include "dsp/station_filter.h"

#include <vector>

#include "dsp/butterworth.h"
#include "dsp/taper.h"

namespace rapid {

Status ApplyStationFilter(const StationFilter& filter, int64_t taper_half_length, TraceSegment* trace,
                          std::string* note) {
  CosineTaperEnds(taper_half_length, &trace->samples);
  if (!filter.bandpass) return Status::OK();
  std::vector<Biquad> sections;
  std::string design_note;
  Status s = DesignObspyBandpass(filter.corners, filter.low_hz, filter.high_hz, trace->rate_hz, &sections, &design_note);
  if (!s.ok()) return Status::InvalidArgument(trace->id.ToString() + ": " + s.message());
  if (!design_note.empty()) *note = trace->id.ToString() + ": " + design_note;
  FilterSectionsZeroPhase(sections, &trace->samples);
  return Status::OK();
}

}  // namespace rapid
