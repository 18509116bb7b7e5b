// Inline SVG line and scatter charts for the tune report: linear axes with round ticks, one
// polyline and/or marker set per series, a legend, and optionally one highlighted point (ringed
// and labelled). Self-contained markup: no script, no external resource.
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace rapid {

struct ChartPoint {
  double x = 0.0;
  double y = 0.0;
};

struct ChartSeries {
  std::string name;    // legend text
  std::string colour;  // CSS colour, e.g. "#1f77b4"
  enum class Marker { kDot, kHollowSquare };
  Marker marker = Marker::kDot;
  bool line = true;    // join the points (in x order) with a polyline
  std::vector<ChartPoint> points;
};

struct ChartSpec {
  std::string id;        // the <svg> element's id
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  bool has_highlight = false;
  ChartPoint highlight;  // ringed in kHighlightColour, with highlight_label beside it
  std::string highlight_label;
  double x_tick_step = 0.0;  // 0: chosen from the data (whole steps when every x is whole)
  int width_px = 640;
  int height_px = 360;
};

// Colour of the highlight ring and label (the report's "chosen" colour).
inline constexpr const char* kHighlightColour = "#d62728";

// The chart as an <svg> element. Axes start at 0 when all values are positive. A spec without
// points gives an empty frame saying "no data".
std::string SvgChart(const ChartSpec& spec);

// Text with &, <, >, " escaped for HTML and SVG.
std::string EscapeXml(const std::string& text);

}  // namespace rapid
