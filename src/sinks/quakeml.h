// Picks as a QuakeML 1.2 (BED) document, for ObsPy's read_events and SeisComP (`--format quakeml`):
//
//   <q:quakeml xmlns:q="http://quakeml.org/xmlns/quakeml/1.2" xmlns="http://quakeml.org/xmlns/bed/1.2">
//     <eventParameters publicID="smi:rapid/eventParameters/<creation>">
//       <event publicID="smi:rapid/event/<creation>">      one container event, no origin
//         <pick publicID="smi:rapid/pick/<NET.STA.LOC>/<phase>/<peak>">   one per pick
//           <comment><text>probability=0.812</text></comment>
//           <comment><text>trigger_on=...Z trigger_off=...Z</text></comment>   when both are set
//           <time><value>2024-12-15T11:59:03.120000Z</value></time>        the peak time
//           <waveformID networkCode=".." stationCode=".." locationCode=".." [channelCode=".."]/>
//           <methodID>smi:rapid/method/<model></methodID>
//           <phaseHint>P</phaseHint>
//           <evaluationMode>automatic</evaluationMode>
//           <creationInfo>[<agencyID>..</agencyID>]<author>RAPID</author>
//                         <creationTime>..</creationTime></creationInfo>          on one line
//         </pick>
//         <creationInfo>...</creationInfo>
//       </event>
//       <creationInfo>...</creationInfo>
//     </eventParameters>
//   </q:quakeml>
//
// Why an event: in QuakeML 1.2 BED an eventParameters holds events, not picks (only the RT schema
// allows bare picks), and ObsPy's reader looks for picks inside events only, so bare picks would
// read back as an empty catalog. The container event has no origin, type or magnitude.
// The probability has no QuakeML field; it goes in a comment as "probability=<value>" (the float's
// shortest round-trip text). The trigger on/off times are kept in a second comment rather than as
// time uncertainties: a trigger window is not a timing error, and locators weight by uncertainty.
// Children follow the XSD's sequence order. publicIDs use only [A-Za-z0-9_.*()-] in their trace id,
// phase and model parts (a subset of what QuakeML's ResourceIdentifier pattern allows): any other
// byte becomes "~XX" (hex), "~" itself included, so distinct inputs keep distinct ids. <peak> is
// the peak time as 20241215T115903.120000Z and <creation> the creation time in that form. Picks
// are ordered by trace_id, phase, peak_time; a pick whose id repeats an earlier one (same trace,
// phase and microsecond) gets "/2", "/3", ... appended. Text and attribute values are XML-escaped;
// bytes XML 1.0 cannot hold (control characters other than tab, LF, CR; malformed UTF-8) become '?'.
// The waveformID codes are the trace id's dot-separated parts (a trace id without dots is taken as
// a station code with an empty network).
// Thread safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/nano_time.h"
#include "core/status.h"
#include "picking/picker.h"
#include "sinks/pick_spill.h"

namespace rapid {

struct QuakeMlOptions {
  // creationInfo/agencyID (at most 64 characters by the schema); empty leaves it out.
  std::string agency_id;
  // trace_id "NET.STA.LOC" -> instrument code ("HH"). When a pick's trace id is found here, its
  // waveformID gets channelCode = instrument + "Z" for every phase: the pick is made on all three
  // components, and Z is the one stream every station has under one name (horizontals may be N/E
  // or 1/2). When absent, channelCode is left out (it is optional in QuakeML; ObsPy accepts that).
  // Borrowed: must outlive the call.
  const std::map<std::string, std::string>* instrument_by_trace_id = nullptr;
};

// The whole document for `picks` (sorted here), made by model `model_name` at `creation_time`.
std::string FormatQuakeMl(const std::vector<Pick>& picks, const std::string& model_name, NanoTime creation_time,
                          const QuakeMlOptions& options = {});

// Writes the same document for the picks of `picks` atomically to `path`, streamed (memory does
// not grow with the number of picks). OK: `path` holds the document. IOError naming the path:
// nothing was replaced.
Status WriteQuakeMl(const std::string& path, const PickSpill& picks, const std::string& model_name,
                    NanoTime creation_time, const QuakeMlOptions& options = {});

}  // namespace rapid
