#include "tune/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace rapid {

namespace {

// Plot area inside the SVG, pixels.
constexpr double kLeft = 70, kRight = 190, kTop = 36, kBottom = 48;

// A tick step of 1, 2 or 5 × 10^k giving about `ticks` intervals over `span`.
double NiceStep(double span, int ticks) {
  const double raw = span / ticks;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (raw <= m * power) return m * power;
  }
  return 10 * power;
}

std::string Num(double v) {
  char buf[32];
  if (std::fabs(v) >= 100 || v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g", v);
  }
  return buf;
}

std::string Px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct Axis {
  double lo = 0, hi = 1, step = 1;
};

Axis MakeAxis(double lo, double hi) {
  if (lo > 0) lo = 0;
  if (hi <= lo) hi = lo + 1;
  Axis a;
  a.step = NiceStep(hi - lo, 5);
  a.lo = std::floor(lo / a.step) * a.step;
  a.hi = std::ceil(hi / a.step) * a.step;
  return a;
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

// The plot area and its axes: data coordinates to pixels.
struct Frame {
  Axis xa, ya;
  double plot_w = 0, plot_h = 0;
  double X(double x) const { return kLeft + (x - xa.lo) / (xa.hi - xa.lo) * plot_w; }
  double Y(double y) const { return kTop + plot_h - (y - ya.lo) / (ya.hi - ya.lo) * plot_h; }
};

// Grid lines with y labels, x ticks with labels, the plot border and the axis titles.
std::string SvgAxes(const ChartSpec& spec, const Frame& f) {
  std::string out;
  for (double v = f.ya.lo; v <= f.ya.hi + f.ya.step * 1e-9; v += f.ya.step) {
    out += "<line x1=\"" + Px(kLeft) + "\" x2=\"" + Px(kLeft + f.plot_w) + "\" y1=\"" + Px(f.Y(v)) + "\" y2=\"" +
           Px(f.Y(v)) + "\" stroke=\"#eeeeee\"/>\n<text x=\"" + Px(kLeft - 6) + "\" y=\"" + Px(f.Y(v) + 4) +
           "\" text-anchor=\"end\" font-size=\"11\">" + Num(v) + "</text>\n";
  }
  for (double v = std::ceil(f.xa.lo / f.xa.step) * f.xa.step; v <= f.xa.hi + f.xa.step * 1e-9; v += f.xa.step) {
    out += "<line x1=\"" + Px(f.X(v)) + "\" x2=\"" + Px(f.X(v)) + "\" y1=\"" + Px(kTop + f.plot_h) + "\" y2=\"" +
           Px(kTop + f.plot_h + 4) + "\" stroke=\"#333333\"/>\n<text x=\"" + Px(f.X(v)) + "\" y=\"" +
           Px(kTop + f.plot_h + 17) + "\" text-anchor=\"middle\" font-size=\"11\">" + Num(v) + "</text>\n";
  }
  out += "<rect x=\"" + Px(kLeft) + "\" y=\"" + Px(kTop) + "\" width=\"" + Px(f.plot_w) + "\" height=\"" + Px(f.plot_h) +
         "\" fill=\"none\" stroke=\"#333333\"/>\n";
  out += "<text x=\"" + Px(kLeft + f.plot_w / 2) + "\" y=\"" + Px(spec.height_px - 10) +
         "\" text-anchor=\"middle\" font-size=\"12\">" + EscapeXml(spec.x_label) + "</text>\n";
  out += "<text transform=\"translate(16," + Px(kTop + f.plot_h / 2) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + EscapeXml(spec.y_label) + "</text>\n";
  return out;
}

// Series `i`: its line and markers, and its legend entry.
std::string SvgSeries(const ChartSeries& s, size_t i, const Frame& f) {
  std::vector<ChartPoint> pts = s.points;
  std::stable_sort(pts.begin(), pts.end(), [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
  std::string out = "<g class=\"series\" data-name=\"" + EscapeXml(s.name) + "\">\n";
  if (s.line && pts.size() > 1) {
    out += "<polyline fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"2.5\" points=\"";
    for (const ChartPoint& p : pts) out += Px(f.X(p.x)) + "," + Px(f.Y(p.y)) + " ";
    out += "\"/>\n";
  }
  for (const ChartPoint& p : pts) {
    if (s.marker == ChartSeries::Marker::kDot) {
      out += "<circle cx=\"" + Px(f.X(p.x)) + "\" cy=\"" + Px(f.Y(p.y)) + "\" r=\"4.5\" fill=\"" + s.colour + "\"/>\n";
    } else {
      out += "<rect x=\"" + Px(f.X(p.x) - 5) + "\" y=\"" + Px(f.Y(p.y) - 5) +
             "\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"" + s.colour + "\" stroke-width=\"2.5\"/>\n";
    }
  }
  out += "</g>\n";
  const double ly = kTop + 8 + 18 * static_cast<double>(i);
  out += "<rect x=\"" + Px(kLeft + f.plot_w + 14) + "\" y=\"" + Px(ly - 6) + "\" width=\"12\" height=\"12\" fill=\"" +
         s.colour + "\"/>\n<text x=\"" + Px(kLeft + f.plot_w + 32) + "\" y=\"" + Px(ly + 4) + "\" font-size=\"11\">" +
         EscapeXml(s.name) + "</text>\n";
  return out;
}

}  // namespace

std::string SvgChart(const ChartSpec& spec) {
  const double w = spec.width_px, h = spec.height_px;
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const ChartSeries& s : spec.series) {
    for (const ChartPoint& p : s.points) {
      xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
      ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
    }
  }
  std::string out = "<svg id=\"" + EscapeXml(spec.id) + "\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    Px(w) + "\" height=\"" + Px(h) + "\" viewBox=\"0 0 " + Px(w) + " " + Px(h) + "\">\n";
  out += "<rect x=\"0\" y=\"0\" width=\"" + Px(w) + "\" height=\"" + Px(h) + "\" fill=\"#ffffff\" stroke=\"#cccccc\"/>\n";
  out += "<text x=\"" + Px(w / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" +
         EscapeXml(spec.title) + "</text>\n";
  if (!(xmax >= xmin)) {
    out += "<text x=\"" + Px(w / 2) + "\" y=\"" + Px(h / 2) + "\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n";
    return out + "</svg>\n";
  }
  // The x axis spans the data with half a tick step of margin (whole steps for whole numbers, e.g.
  // instance counts); the y axis starts at 0.
  bool whole_x = true;
  for (const ChartSeries& s : spec.series) {
    for (const ChartPoint& p : s.points) whole_x = whole_x && p.x == std::floor(p.x);
  }
  Frame f;
  f.plot_w = w - kLeft - kRight;
  f.plot_h = h - kTop - kBottom;
  f.xa.step = NiceStep(xmax > xmin ? xmax - xmin : 1.0, 5);
  if (whole_x) f.xa.step = std::max(1.0, std::round(f.xa.step));
  if (spec.x_tick_step > 0) f.xa.step = spec.x_tick_step;
  f.xa.lo = xmin - f.xa.step / 2;
  f.xa.hi = xmax + f.xa.step / 2;
  f.ya = MakeAxis(ymin, ymax * 1.05);
  out += SvgAxes(spec, f);
  for (size_t i = 0; i < spec.series.size(); ++i) out += SvgSeries(spec.series[i], i, f);
  if (spec.has_highlight) {
    const double hx = f.X(spec.highlight.x), hy = f.Y(spec.highlight.y);
    const bool right_half = hx > kLeft + f.plot_w / 2;  // label on the side with room
    out += "<g class=\"highlight\"><circle cx=\"" + Px(hx) + "\" cy=\"" + Px(hy) + "\" r=\"11\" fill=\"none\" stroke=\"" +
           kHighlightColour + "\" stroke-width=\"3.5\"/>\n<text x=\"" + Px(right_half ? hx - 14 : hx + 14) + "\" y=\"" +
           Px(hy - 14) + "\" text-anchor=\"" + (right_half ? "end" : "start") +
           "\" font-size=\"12\" font-weight=\"bold\" fill=\"" + kHighlightColour + "\">" + EscapeXml(spec.highlight_label) +
           "</text></g>\n";
  }
  return out + "</svg>\n";
}

}  // namespace rapid
