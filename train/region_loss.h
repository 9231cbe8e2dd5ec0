// The YOLOv2 [region] head's training loss, as Darknet computes it (pjreddie's src/region_layer.c,
// forward_region_layer for the delta, backward_region_layer_gpu for how it reaches the input):
//  - x, y and objectness are trained in the logistic's output space: squared error, so the
//    gradient at the input carries the logistic's derivative (gradient_array(LOGISTIC));
//  - w, h: squared error on the raw outputs;
//  - while fewer than 12,800 images have been seen, every prediction is also pulled towards its
//    anchor's prior box with weight 0.01;
//  - objectness: noobject_scale towards 0 unless the prediction overlaps a truth by more than
//    `thresh`; object_scale towards 1 (or towards the IoU with `rescore`) for the anchor
//    responsible for a truth (best IoU of anchor shapes with bias_match, else of predictions);
//  - coordinates of the responsible anchor weighted coord_scale * (2 - w * h);
//  - classes: softmax cross-entropy with `softmax=1`, else logistic, weighted class_scale.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "models/darknet/netdef.h"
#include "train/yolo_loss.h"

namespace facekit::train {

// `images_seen`: Darknet's net.seen before this batch (the anchor-prior term ends at 12,800).
torch::Tensor region_loss(const darknet::LayerDef& head, const torch::Tensor& input,
                          const std::vector<std::vector<TruthBox>>& truths, long long images_seen,
                          YoloLossStats* stats = nullptr);

}  // namespace facekit::train
