// AlexeyAB's IoU box losses for the [yolo] head (`iou_loss=iou|giou|diou|ciou`): the value of the
// IoU kind and the box delta its forward_yolo_layer writes (src/box.c dx_box_iou, called from
// src/yolo_layer.c delta_yolo_box).
//
// Values, as the papers define them (and torchvision.ops computes them):
//   IoU
//   GIoU = IoU - (C - U) / C                 C: area of the smallest enclosing box, U: union
//                                            (Rezatofighi et al. 2019)
//   DIoU = IoU - d^2 / c^2                   d: distance of the centres, c: diagonal of the
//                                            enclosing box (Zheng et al. 2020)
//   CIoU = DIoU - alpha v,  v = 4 / pi^2 (atan(w_t / h_t) - atan(w / h))^2,
//                           alpha = v / (1 - IoU + v), a constant in the gradient
//
// `iou_gradient` is the gradient of the IoU kind with respect to the predicted box centre and size
// (normalised image coordinates), with Darknet's scaling, which the cfgs' iou_normalizer values
// (0.07 in Yolo-Fastest and YOLOv4) were tuned for:
//  - the area terms (IoU, and GIoU's enclosing-area term) go to w and h as d/dright - d/dleft,
//    twice the derivative ("we do not divide by 2", box.c);
//  - CIoU's aspect term drops the factor 1 / (w^2 + h^2) of dv/dw, as the CIoU paper advises
//    (it is tiny for small boxes and would blow the gradient up).
// One departure from box.c: its x and y delta of the distance term carries the derivative of
// the enclosing diagonal with the wrong sign; facekit uses the derivative.
#pragma once

#include "models/darknet/netdef.h"

namespace facekit::train {

// Centre, width and height, relative to the image (Darknet's `box`).
struct CentreBox {
  float x = 0, y = 0, w = 0, h = 0;
};

// The IoU kind named by `loss` (kMse: plain IoU).
float iou_kind(const CentreBox& pred, const CentreBox& truth, darknet::IouLoss loss);

// d(IoU kind) / d(pred.x, pred.y, pred.w, pred.h) with the scaling above; not for kMse.
CentreBox iou_gradient(const CentreBox& pred, const CentreBox& truth, darknet::IouLoss loss);

}  // namespace facekit::train
