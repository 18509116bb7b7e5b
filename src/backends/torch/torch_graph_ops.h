// One graph node (models/graph.h) computed with ATen over a batch: values are (batch, channels,
// length), or (batch, channels, length, width) when 2-D. The torch backend's interpreter
// (torch_graph_model.cc) calls it node by node; it is the reference the oneDNN backend is tested
// against, so each op follows the graph's definition directly.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

#include "backends/lstm_recurrence.h"
#include "models/graph.h"

namespace rapid {

// A node's weights on the model's device, and what an op prepares once.
struct NodeTensors {
  at::Tensor weight, bias, mean, var;
  std::shared_ptr<const LstmRecurrence> lstm;  // kLstm on the CPU
};

NodeTensors PrepareNode(const GraphNode& n, const at::Device& device);

// Node n's value from its inputs' values (in n.inputs' order); `window` is the input node's.
at::Tensor RunNode(const GraphNode& n, const std::vector<const at::Tensor*>& in, const NodeTensors& t,
                   const at::Tensor& window);

// kLstm node n's recurrence as one batched tensor step per time step, what RunNode does off the
// CPU (on the CPU it runs the shared loop, backends/lstm_recurrence.h); public so the CPU tests
// can compare the two. gates: (batch, directions·4H, time); recurrent: n's weight as a tensor.
at::Tensor LstmTensorSteps(const GraphNode& n, const at::Tensor& gates, const at::Tensor& recurrent);

}  // namespace rapid
