"""Reference values and gradients of the IoU kinds for tests/yolo_loss_test.cpp, from torchvision.ops
(the CIoU/DIoU/GIoU losses of torchvision 0.14, Debian's python3-torchvision) and autograd.

    /usr/bin/python3 tests/box_iou_ref.py OUT_DIR

Writes OUT_DIR/boxes.npy (N x 8: predicted x, y, w, h, truth x, y, w, h, relative to the image) and
OUT_DIR/reference.npy (N x 20): for each box, the values IoU, GIoU, DIoU, CIoU, then the gradients
with respect to the predicted x, y, w, h of IoU, of GIoU, of the distance term (DIoU - IoU) and of
the aspect term (CIoU - DIoU; torchvision holds CIoU's alpha constant, as the paper does).
"""
import os
import sys

import numpy as np
import torch
from torchvision.ops import (box_iou, complete_box_iou_loss, distance_box_iou_loss,
                             generalized_box_iou_loss)

SEED = 20261129
COUNT = 400


def corners(b):
    return torch.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2,
                        b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], dim=1)


def main(out):
    g = torch.Generator().manual_seed(SEED)
    truth = torch.cat([torch.rand(COUNT, 2, generator=g) * 0.6 + 0.2,
                       torch.rand(COUNT, 2, generator=g) * 0.3 + 0.05], dim=1).double()
    # Predictions near their truth (overlapping, inside, around) and some far away (disjoint).
    offset = (torch.rand(COUNT, 2, generator=g) - 0.5) * truth[:, 2:] * 1.5
    offset[: COUNT // 5] *= 4
    size = truth[:, 2:] * torch.exp((torch.rand(COUNT, 2, generator=g) - 0.5) * 1.6)
    pred = torch.cat([truth[:, :2] + offset, size], dim=1)

    rows = []
    for kind in ("iou", "giou", "diou", "ciou"):
        p = pred.clone().requires_grad_(True)
        a, b = corners(p), corners(truth)
        if kind == "iou":
            value = torch.diagonal(box_iou(a, b))
        elif kind == "giou":
            value = 1 - generalized_box_iou_loss(a, b)
        elif kind == "diou":
            value = 1 - distance_box_iou_loss(a, b)
        else:
            value = 1 - complete_box_iou_loss(a, b)
        value.sum().backward()
        rows.append((value.detach(), p.grad.detach()))
    values = torch.stack([v for v, _ in rows], dim=1)
    g_iou, g_giou, g_diou, g_ciou = (grad for _, grad in rows)
    reference = torch.cat([values, g_iou, g_giou, g_diou - g_iou, g_ciou - g_diou], dim=1)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "boxes.npy"), torch.cat([pred, truth], dim=1).float().numpy())
    np.save(os.path.join(out, "reference.npy"), reference.float().numpy())


if __name__ == "__main__":
    main(sys.argv[1])
