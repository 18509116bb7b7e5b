// EQTransformer (Mousavi et al., 2020) with SeisBench's architecture and state_dict names
// (`encoder`, `res_cnn_stack`, `bi_lstm_stack`, `transformer_d0`, `transformer_d`, `decoder_d`,
// `conv_d`, `pick_lstms`, `pick_attentions`, `pick_decoders`, `pick_convs`), so SeisBench weight
// files load unchanged. Outputs, in order: Detection, then one trace per phase (P, S).
//
// Which variant a weight file needs is decided per setting:
//   1. from the weights' JSON `model_args` where it gives the setting (SeisBench builds the model
//      from them): `lstm_blocks`, `original_compatible` (false; "conservative"; true or
//      "non-conservative");
//   2. otherwise from the state_dict itself, which tells every variant apart:
//      - lstm_blocks = number of `bi_lstm_stack.members.<i>` present (3 when there are none);
//      - `bi_lstm_stack.members.0.lstm.weight_ih_l0` (torch LSTM) → SeisBench's default
//        (original_compatible=False);
//      - `….lstm.cell_f.weight_ih` (SeisBench's CustomLSTM) with `pick_lstms.0.cell_f.weight_ih`
//        → "conservative" (hard-sigmoid gates everywhere);
//      - CustomLSTM in the stack but a torch LSTM in `pick_lstms` → "non-conservative" (sigmoid
//        gates; SeisBench builds the picking LSTMs of that variant with torch's LSTM).
// Either way loading is strict, so weights that do not fit the chosen variant name the key.
#pragma once

#include <string>

#include "core/status.h"
#include "models/graph.h"
#include "models/model_spec.h"
#include "models/stored_tensor.h"

namespace rapid {

struct EqtArchitecture {
  // SeisBench's `original_compatible`: kNone = its default PyTorch layers; the other two mirror
  // the Keras original (attention eps 1e-7, its decoder cropping, CustomLSTM layers).
  enum class Compat { kNone, kConservative, kNonConservative };
  int lstm_blocks = 3;
  Compat original_compatible = Compat::kNone;
};

// Decides the variant for `tensors` from `metadata_json` (the weights' JSON text; empty when there
// is none) or else from the keys, as described above. InvalidArgument naming `metadata_source` on
// a malformed `model_args.lstm_blocks` / `original_compatible` / `in_samples` (RAPID runs
// EQTransformer on 6000-sample windows only).
Status DecideEqtArchitecture(const NamedStoredTensors& tensors, const std::string& metadata_json,
                             const std::string& metadata_source, EqtArchitecture* out);

// Describes EQTransformer for `spec` (Channels() inputs; labels = detection label + phases) in the
// variant DecideEqtArchitecture picks, with the weights in `tensors`, strictly: a missing, extra
// or mis-shaped key is an InvalidArgument/NotFound naming `source` (the weight file) and the key;
// metadata errors name `metadata_source`. The output is Concat(detection, one trace per phase),
// each through a sigmoid. OK: *graph holds the model.
Status DescribeEqTransformer(const NamedStoredTensors& tensors, const std::string& source,
                             const std::string& metadata_json, const std::string& metadata_source,
                             const ModelSpec& spec, Graph* graph);

}  // namespace rapid
