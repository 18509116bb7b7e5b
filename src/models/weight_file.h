// One weight file of a model as the registry read it: what a model description or a torch model
// builder gets. A model of several networks (EQCCT: P and S) gets one per network.
#pragma once

#include <string>

#include "models/state_dict_reader.h"

namespace rapid {

struct WeightFile {
  std::string path;           // named in error messages
  StateDict state;            // its tensors, in file order
  std::string metadata_json;  // the JSON SeisBench keeps beside it; empty when there is none
  std::string metadata_path;  // that JSON's path; empty when there is none
};

}  // namespace rapid
