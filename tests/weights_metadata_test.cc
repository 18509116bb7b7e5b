#include <gtest/gtest.h>

#include "models/weights_metadata.h"

namespace rapid {
namespace {

TEST(WeightsMetadataTest, AppliesModelAndDefaultArgs) {
  ModelSpec spec;
  spec.labels = {"N", "P", "S"};
  const std::string json = R"({"model_args": {"phases": "PSN", "component_order": "ENZ", "norm": "peak"},
      "default_args": {"P_threshold": 0.444, "S_threshold": 0.45, "overlap": 3000, "blinding": [500, 250],
                       "stacking": "max"}})";
  spec.in_samples = 6000;
  ASSERT_TRUE(ApplyWeightsMetadata(json, "x.json", &spec).ok());
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"P", "S", "N"}));
  EXPECT_EQ(spec.component_order, "ENZ");
  EXPECT_EQ(spec.norm, WindowNorm::kPeakPerChannel);
  EXPECT_DOUBLE_EQ(spec.thresholds["P"], 0.444);
  EXPECT_DOUBLE_EQ(spec.thresholds["S"], 0.45);
  EXPECT_EQ(spec.overlap_samples, 3000);
  EXPECT_EQ(spec.blinding_pre_samples, 500);
  EXPECT_EQ(spec.blinding_post_samples, 250);
  EXPECT_EQ(spec.stacking, Stacking::kMax);
}

TEST(WeightsMetadataTest, DetectionLabelStaysFirstWithItsOwnThresholdKey) {
  // SeisBench's EQTransformer JSON: phases exclude the detection output, whose threshold is
  // "detection_threshold" rather than "Detection_threshold".
  ModelSpec spec;
  spec.detection_label = "Detection";
  spec.labels = {"Detection", "P", "S"};
  const std::string json = R"({"model_args": {"phases": "SP"},
      "default_args": {"detection_threshold": 0.4, "P_threshold": 0.2, "S_threshold": 0.25}})";
  ASSERT_TRUE(ApplyWeightsMetadata(json, "eqt.json", &spec).ok());
  EXPECT_EQ(spec.labels, (std::vector<std::string>{"Detection", "S", "P"}));
  EXPECT_DOUBLE_EQ(spec.thresholds["Detection"], 0.4);
  EXPECT_DOUBLE_EQ(spec.thresholds["P"], 0.2);
  EXPECT_DOUBLE_EQ(spec.thresholds["S"], 0.25);
}

TEST(WeightsMetadataTest, RejectsMalformedValuesNamingTheKey) {
  ModelSpec spec;
  Status s = ApplyWeightsMetadata(R"({"model_args": {"norm": "loud"}})", "w.json", &spec);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("w.json"), std::string::npos);
  EXPECT_NE(s.message().find("model_args.norm"), std::string::npos);
  EXPECT_FALSE(ApplyWeightsMetadata("{not json", "w.json", &spec).ok());
  EXPECT_FALSE(ApplyWeightsMetadata(R"({"default_args": {"blinding": 5}})", "w.json", &spec).ok());
}

TEST(WeightsMetadataTest, MetadataPathFollowsSeisBenchNaming) {
  EXPECT_EQ(MetadataPathFor("/m/phasenet_original.pt"), "/m/phasenet_original.json");
  EXPECT_EQ(MetadataPathFor("/m/ethz.pt.v2"), "/m/ethz.json.v2");
}

}  // namespace
}  // namespace rapid
