// The cfg parser and NetDef: syntax, defaults, both dialects, errors that say where.
#include <gtest/gtest.h>

#include "models/darknet/cfg.h"
#include "models/darknet/netdef.h"

namespace facekit::darknet {
namespace {

constexpr const char* kTinyNet =
    "[net]\nwidth=26\nheight=26\nchannels=3\n"
    "[convolutional]\nfilters=8\nsize=3\nstride=1\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[maxpool]\nsize=2\nstride=2\n"
    "[maxpool]\nsize=2\nstride=1\n";

NetDef build(const std::string& text, Dialect dialect = Dialect::kPjreddie) {
  return build_netdef(parse_cfg_text(text, "test.cfg"), dialect);
}

std::string error_of(const std::string& text, Dialect dialect = Dialect::kPjreddie) {
  try {
    build(text, dialect);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Cfg, CommentsBlankLinesSpacesAndCrlf) {
  const CfgFile cfg = parse_cfg_text(
      "# a comment\r\n[net]\r\n\r\n width = 416 \r\n; other comment\r\nanchors = 1, 2,3\r\n", "x.cfg");
  ASSERT_EQ(cfg.sections.size(), 1u);
  EXPECT_EQ(cfg.sections[0].get_int("width", 0), 416);
  EXPECT_EQ(cfg.sections[0].get_ints("anchors"), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(cfg.sections[0].get_int("missing", 7), 7);
}

TEST(Cfg, RepeatedKeyKeepsTheFirstValueAndWarns) {
  const CfgFile cfg = parse_cfg_text("[net]\nwidth=1\nwidth=2\n", "x.cfg");
  EXPECT_EQ(cfg.sections[0].get_int("width", 0), 1);
  ASSERT_EQ(cfg.warnings.size(), 1u);
  EXPECT_NE(cfg.warnings[0].find("x.cfg:3"), std::string::npos) << cfg.warnings[0];
}

TEST(Cfg, SyntaxErrorsNameFileAndLine) {
  EXPECT_THROW(parse_cfg_text("[net\n", "a.cfg"), std::runtime_error);
  try {
    parse_cfg_text("[net]\nwidth 416\n", "a.cfg");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a.cfg:2"), std::string::npos) << e.what();
  }
  try {
    parse_cfg_text("width=1\n[net]\n", "a.cfg");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("a.cfg:1"), std::string::npos) << e.what();
  }
}

TEST(Cfg, MalformedValueNamesLineAndKey) {
  const std::string error = error_of("[net]\nwidth=26\nheight=26\nchannels=3\n[convolutional]\nfilters=eight\n");
  EXPECT_NE(error.find("test.cfg:6"), std::string::npos) << error;
  EXPECT_NE(error.find("filters"), std::string::npos) << error;
}

TEST(Cfg, UnknownSectionIsAnErrorWithLine) {
  const std::string error = error_of("[net]\nwidth=8\nheight=8\nchannels=3\n\n[teleport]\n");
  EXPECT_NE(error.find("test.cfg:6"), std::string::npos) << error;
  EXPECT_NE(error.find("unknown section"), std::string::npos) << error;
}

TEST(Cfg, RefusedSectionSaysWhy) {
  const std::string error = error_of("[net]\nwidth=8\nheight=8\nchannels=3\n[local]\n");
  EXPECT_NE(error.find("not supported"), std::string::npos) << error;
}

TEST(Cfg, UnknownKeysAreReportedOnce) {
  const NetDef def = build(std::string(kTinyNet) + "[dropout]\nwobble=3\n");
  int mentions = 0;
  for (const auto& warning : def.warnings) mentions += warning.find("'wobble'") != std::string::npos;
  EXPECT_EQ(mentions, 1);
}

TEST(NetDef, ShapesFollowDarknet) {
  const NetDef def = build(kTinyNet);
  ASSERT_EQ(def.layers.size(), 3u);
  EXPECT_EQ(def.layers[0].out.c, 8);
  EXPECT_EQ(def.layers[0].out.h, 26);
  EXPECT_EQ(def.layers[0].activation, Activation::kLeaky);
  EXPECT_EQ(def.layers[1].out.h, 13);
  // maxpool size=2 stride=1 keeps 13x13 (the 12x12 bug of other converters).
  EXPECT_EQ(def.layers[2].out.h, 13);
  EXPECT_EQ(def.layers[2].out.w, 13);
  // biases + 3 BN vectors + 8 x 3 x 3 x 3 weights
  EXPECT_EQ(def.num_weight_floats(), 8 + 3 * 8 + 8 * 3 * 3 * 3);
}

TEST(NetDef, ConvolutionDefaultsAreDarknets) {
  const NetDef def = build("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\n");
  const LayerDef& l = def.layers[0];
  EXPECT_EQ(l.filters, 1);
  EXPECT_EQ(l.size, 1);
  EXPECT_EQ(l.activation, Activation::kLogistic);  // parse_convolutional's default
  EXPECT_FALSE(l.batch_normalize);
}

TEST(NetDef, RouteShortcutAndYoloChecks) {
  const std::string base = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=4\nsize=1\n";
  EXPECT_NE(error_of(base + "[route]\nlayers=-5\n").find("does not exist"), std::string::npos);
  const std::string yolo = base + "[yolo]\nmask=0\nanchors=1,2,3,4\nnum=2\nclasses=1\n";
  EXPECT_NE(error_of(yolo).find("filters=4"), std::string::npos) << error_of(yolo);
  const std::string first = "[net]\nwidth=32\nheight=32\nchannels=30\n[region]\nanchors=1,1,2,2,3,3,4,4,5,5\nclasses=1\nnum=5\n";
  EXPECT_NE(error_of(first).find("test.cfg:5: [region]: a detection head cannot be the first layer"), std::string::npos)
      << error_of(first);  // found by fuzz_onnx_export: it read the output of layer -1
  const NetDef ok = build(base + "[convolutional]\nfilters=6\nsize=1\n[yolo]\nmask=0\nanchors=1,2,3,4\nnum=2\nclasses=1\n");
  EXPECT_EQ(ok.layers[2].mask, (std::vector<int>{0}));
}

// AlexeyAB's [yolo] resize (the random zoom of training crops) is read in its dialect, refused at
// its line when not positive, and reported unused in pjreddie's, which has no such key.
TEST(NetDef, YoloResizeIsAlexeyABsAndMustBePositive) {
  const std::string net = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=6\nsize=1\n";
  const std::string yolo = "[yolo]\nmask=0\nanchors=1,2,3,4\nnum=2\nclasses=1\n";
  EXPECT_FLOAT_EQ(build(net + yolo + "resize=0.25\n", Dialect::kAlexeyAB).layers[1].resize, 0.25f);
  EXPECT_FLOAT_EQ(build(net + yolo, Dialect::kAlexeyAB).layers[1].resize, 1.f);
  const std::string bad = error_of(net + yolo + "resize=0\n", Dialect::kAlexeyAB);
  EXPECT_NE(bad.find("test.cfg:13: [yolo] resize must be positive, got 0"), std::string::npos) << bad;
  const NetDef pjreddie = build(net + yolo + "resize=1.5\n");
  EXPECT_FLOAT_EQ(pjreddie.layers[1].resize, 1.f);
  ASSERT_EQ(pjreddie.warnings.size(), 1u);
  EXPECT_NE(pjreddie.warnings[0].find("key 'resize' is not used"), std::string::npos) << pjreddie.warnings[0];
}

TEST(NetDef, AbsurdSizesAreRefusedBeforeAllocating) {
  EXPECT_NE(error_of("[net]\nwidth=100000\nheight=100000\nchannels=3\n[maxpool]\n").find("larger"), std::string::npos);
  const std::string huge = "[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=1000000000\nsize=3\n";
  EXPECT_NE(error_of(huge).find("absurd"), std::string::npos) << error_of(huge);
}

// A head's counts are any int in a cfg: classes=1111111112 made 3 x (classes + 5) overflow int
// (found by fuzz_cfg, undefined behaviour), and num=1111111112 without a mask would have listed a
// billion mask entries before the anchors were counted. Both are refused at the head's line.
TEST(NetDef, HeadCountsAreRefusedBeforeTheyOverflowOrSizeAnything) {
  const std::string net = "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=6\nsize=1\n";
  const std::string many_classes = error_of(net + "[yolo]\nmask=0,1,2\nanchors=1,2,3,4,5,6\nnum=3\nclasses=1111111112\n");
  EXPECT_NE(many_classes.find("test.cfg:8: [yolo]: expects 3 anchors x 1111111117 = 3333333351 input channels"),
            std::string::npos) << many_classes;
  const std::string many_anchors = error_of(net + "[yolo]\nanchors=1,2\nnum=1111111112\nclasses=1\n");
  EXPECT_NE(many_anchors.find("num=1111111112 needs 2222222224 anchor values, found 2"), std::string::npos) << many_anchors;
  const std::string no_classes = error_of(net + "[region]\nanchors=1,2\nnum=1\nclasses=0\n");
  EXPECT_NE(no_classes.find("test.cfg:8: [region]: classes must be positive, got 0"), std::string::npos) << no_classes;
}

// Sides, channel sums and weight counts are taken in 64 bits: a 111111120-wide kernel padded to fit
// made (16 x 68) x 111111120^2 weights overflow even a long long (found by fuzz_cfg), and an
// upsample stride of -2^31 had no int magnitude. Each is an error at the layer's line.
TEST(NetDef, ShapesAndWeightCountsDoNotOverflow) {
  const std::string wide = "[net]\nwidth=32\nheight=32\nchannels=16\n[convolutional]\nfilters=68\nsize=111111120\npad=1\n";
  EXPECT_NE(error_of(wide).find("test.cfg:5: [convolutional]: absurd size"), std::string::npos) << error_of(wide);
  const std::string net = "[net]\nwidth=32\nheight=32\nchannels=3\n";
  const std::string down = error_of(net + "[upsample]\nstride=-2147483648\n");
  EXPECT_NE(down.find("test.cfg:5: [upsample]: output would be 0x0x3"), std::string::npos) << down;
  const std::string up = error_of(net + "[upsample]\nstride=2000000000\n");
  EXPECT_NE(up.find("test.cfg:5: [upsample]: absurd size: output 64000000000x64000000000x3"), std::string::npos) << up;
  EXPECT_EQ(build(net + "[upsample]\nstride=-2\n").layers[0].out.w, 16);
}

// Darknet's output-size formula gives 1 when the kernel is larger than the padded input (its
// division truncates towards zero); LibTorch would refuse to run it. Found by fuzz_onnx_export.
TEST(NetDef, AKernelLargerThanItsPaddedInputIsRefusedAtItsLine) {
  const std::string net = "[net]\nwidth=24\nheight=24\nchannels=3\n";
  const std::string conv = error_of(net + "[convolutional]\nfilters=8\nsize=38\nstride=21\n");
  EXPECT_NE(conv.find("test.cfg:5: [convolutional]: size 38 is larger than the padded input 24x24"), std::string::npos) << conv;
  const std::string pool = error_of(net + "[maxpool]\nsize=30\nstride=2\npadding=2\n");
  EXPECT_NE(pool.find("size 30 is larger than the padded input 26x26"), std::string::npos) << pool;
  EXPECT_NO_THROW(build(net + "[convolutional]\nfilters=8\nsize=38\nstride=21\npad=1\n"));  // padded to 62
}

TEST(NetDef, DialectDecidesAlexeyABKeys) {
  const std::string cfg =
      "[net]\nwidth=32\nheight=32\nchannels=3\n[convolutional]\nfilters=8\nsize=1\n"
      "[route]\nlayers=-1\ngroups=2\ngroup_id=1\n";
  std::string reason;
  EXPECT_EQ(detect_dialect(parse_cfg_text(cfg, "x.cfg"), 0, &reason), Dialect::kAlexeyAB);
  EXPECT_NE(reason.find("group_id"), std::string::npos) << reason;
  EXPECT_EQ(build(cfg, Dialect::kAlexeyAB).layers[1].out.c, 4);
  EXPECT_EQ(build(cfg, Dialect::kPjreddie).layers[1].out.c, 8);  // pjreddie ignores groups...
  bool warned = false;
  for (const auto& w : build(cfg, Dialect::kPjreddie).warnings) warned |= w.find("'groups'") != std::string::npos;
  EXPECT_TRUE(warned);  // ...and says so
  EXPECT_EQ(detect_dialect(parse_cfg_text(kTinyNet, "x.cfg"), 5, &reason), Dialect::kAlexeyAB);
  EXPECT_EQ(detect_dialect(parse_cfg_text(kTinyNet, "x.cfg"), 0, &reason), Dialect::kPjreddie);
  EXPECT_NE(error_of("[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nactivation=mish\n").find("AlexeyAB"),
            std::string::npos);
}

}  // namespace
}  // namespace facekit::darknet
