// The YOLOv3 head's training loss, as Darknet computes it (pjreddie's src/yolo_layer.c,
// forward_yolo_layer). Darknet writes no loss function: it writes `delta`, the negative gradient
// at the head's input, and backpropagates that. This loss is built so that its gradient is that
// delta exactly:
//  - x, y (logistic outputs): scale * BCE(sigmoid(x), target), so the gradient is
//    scale * (sigmoid - target), with scale = 2 - w * h of the truth box (delta_yolo_box);
//  - w, h (linear outputs): scale / 2 * (x - log(truth / anchor))^2;
//  - objectness: BCE to 1 for the anchor responsible for a truth (best anchor shape, the cell of
//    the truth centre), to 0 elsewhere, except predictions whose best IoU with any truth exceeds
//    ignore_thresh (no objectness loss) or truth_thresh (trained as positives);
//  - classes: BCE per class (delta_yolo_class), only where a truth is assigned.
// Later truths overwrite earlier ones at the same cell and anchor, as in pjreddie's Darknet.
//
// AlexeyAB's keys (its forward_yolo_layer), read from AlexeyAB cfgs (models/darknet/netdef.h):
//  - iou_normalizer scales the box terms, obj_normalizer the objectness terms, cls_normalizer the
//    class terms (AlexeyAB's current delta_yolo_class applies cls_normalizer only together with
//    counters_per_class; facekit always applies it, as the key's documentation says);
//  - iou_loss=iou|giou|diou|ciou replaces the box terms by the IoU kind's delta of
//    train/box_iou_loss.h; the loss value counts iou_normalizer * (1 - IoU kind) per box;
//  - iou_thresh trains every anchor of the head whose shape matches the truth's above it;
//  - scale_x_y widens the logistic's range; max_delta clips the IoU-loss deltas.
// Not mirrored: AlexeyAB's ignore_thresh test counts only truths whose class the prediction
// already gives > 0.25, and it adds up (rather than overwrites) the deltas of truths sharing a cell.
#pragma once

#include <vector>

#include <torch/torch.h>

#include "models/darknet/netdef.h"

namespace facekit::train {

// A ground-truth box as Darknet's labels store it: centre and size relative to the image.
struct TruthBox {
  float x = 0, y = 0, w = 0, h = 0;
  int class_id = 0;
};

struct YoloLossStats {
  double coord = 0, objectness = 0, no_object = 0, classes = 0;  // loss terms (coord: box terms)
  double avg_iou = 0;   // of the responsible predictions with their truths
  int count = 0;        // truths assigned to this head
};

// `input`: the head's input [batch, mask * (5 + classes), h, w], raw (before the logistic).
// `truths[b]`: image b's boxes. The result is summed over the batch (Darknet divides the update
// by the batch, not the loss).
torch::Tensor yolo_loss(const darknet::LayerDef& head, const torch::Tensor& input,
                        const std::vector<std::vector<TruthBox>>& truths, int net_w, int net_h,
                        YoloLossStats* stats = nullptr);

}  // namespace facekit::train
