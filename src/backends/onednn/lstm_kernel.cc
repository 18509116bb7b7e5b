#include "backends/lstm_recurrence.h"
#include "backends/onednn/loop_kernels.h"

namespace rapid::onednn {

namespace {

class Lstm : public LoopKernel {
 public:
  Lstm(const GraphNode& n, View gates, View out) : recurrence_(n.weight, n.gate), gates_(gates), out_(out) {}
  void Run() override { recurrence_.Run(gates_.data, gates_.channels, out_.length, out_.data, out_.channels); }

 private:
  LstmRecurrence recurrence_;
  View gates_, out_;
};

}  // namespace

std::unique_ptr<LoopKernel> MakeLstmKernel(const GraphNode& n, View gates, View output) {
  return std::make_unique<Lstm>(n, gates, output);
}

}  // namespace rapid::onednn
