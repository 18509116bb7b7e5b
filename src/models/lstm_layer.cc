#include "models/lstm_layer.h"

#include <utility>

namespace rapid {

Status TakeLstm(StrictParams* p, Graph* g, const std::string& prefix, LstmKeys keys, int64_t hidden,
                bool bidirectional, GateActivation gate, int* x) {
  RAPID_RETURN_IF_ERROR(g->status());
  const int64_t in = g->Node(*x).channels, h = hidden, directions = bidirectional ? 2 : 1;
  WeightTensor w_ih{{directions * 4 * h, in, 1}, {}}, bias{{directions * 4 * h}, {}}, w_hh{{directions, 4 * h, h}, {}};
  for (int64_t d = 0; d < directions; ++d) {
    const std::string suffix = d == 0 ? "_l0" : "_l0_reverse";
    const std::string cell = prefix + (d == 0 ? ".cell_f." : ".cell_b.");
    auto key = [&](const std::string& name) {
      return keys == LstmKeys::kTorch ? prefix + "." + name + suffix : cell + name;
    };
    WeightTensor wi, wh, bi, bh;
    RAPID_RETURN_IF_ERROR(p->Take(key("weight_ih"), {4 * h, in}, &wi));
    RAPID_RETURN_IF_ERROR(p->Take(key("weight_hh"), {4 * h, h}, &wh));
    RAPID_RETURN_IF_ERROR(p->Take(key("bias_ih"), {4 * h}, &bi));
    RAPID_RETURN_IF_ERROR(p->Take(key("bias_hh"), {4 * h}, &bh));
    w_ih.values.insert(w_ih.values.end(), wi.values.begin(), wi.values.end());
    w_hh.values.insert(w_hh.values.end(), wh.values.begin(), wh.values.end());
    for (size_t j = 0; j < bi.values.size(); ++j) bias.values.push_back(bi.values[j] + bh.values[j]);
  }
  *x = g->Lstm(g->Conv1d(*x, std::move(w_ih), std::move(bias), 1, 0, 0), std::move(w_hh), gate);
  return g->status();
}

}  // namespace rapid
