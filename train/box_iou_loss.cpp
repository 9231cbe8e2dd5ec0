#include "train/box_iou_loss.h"

#include <algorithm>
#include <cmath>

namespace facekit::train {
namespace {

using darknet::IouLoss;

constexpr double kAspectScale = 4 / (M_PI * M_PI);  // CIoU's v
constexpr double kAlphaEpsilon = 1e-6;              // box.c box_ciou

// Derivatives with respect to the predicted box's four edges (left, right, top, bottom).
struct EdgeGradient {
  double l = 0, r = 0, t = 0, b = 0;
};

// Everything both values and gradients read: the edges, the intersection and the enclosing box.
struct Geometry {
  double l, r, t, b;      // predicted box edges
  double L, R, T, B;      // truth box edges
  double iw, ih, inter;   // intersection (inter 0 when the boxes do not overlap)
  double area_union;
  double cw, ch;          // enclosing box

  Geometry(const CentreBox& p, const CentreBox& q)
      : l(p.x - p.w / 2.0), r(p.x + p.w / 2.0), t(p.y - p.h / 2.0), b(p.y + p.h / 2.0),
        L(q.x - q.w / 2.0), R(q.x + q.w / 2.0), T(q.y - q.h / 2.0), B(q.y + q.h / 2.0) {
    iw = std::min(r, R) - std::max(l, L);
    ih = std::min(b, B) - std::max(t, T);
    inter = overlaps() ? iw * ih : 0.0;
    area_union = (r - l) * (b - t) + (R - L) * (B - T) - inter;
    cw = std::max(r, R) - std::min(l, L);
    ch = std::max(b, B) - std::min(t, T);
  }
  bool overlaps() const { return iw > 0 && ih > 0; }
  double iou() const { return area_union > 0 ? inter / area_union : 0.0; }
  double enclosing_area() const { return cw * ch; }
  double diagonal2() const { return cw * cw + ch * ch; }

  // d(inter), d(union), d(enclosing width), d(enclosing height) per edge: an edge moves the
  // intersection when it is the inner one, the enclosing box when it is the outer one.
  EdgeGradient d_inter() const {
    if (!overlaps()) return {};
    return {l > L ? -ih : 0, r < R ? ih : 0, t > T ? -iw : 0, b < B ? iw : 0};
  }
  EdgeGradient d_union() const {
    const EdgeGradient di = d_inter();
    const double w = r - l, h = b - t;
    return {-h - di.l, h - di.r, -w - di.t, w - di.b};
  }
  EdgeGradient d_enclosing_w() const { return {l < L ? -1.0 : 0.0, r > R ? 1.0 : 0.0, 0, 0}; }
  EdgeGradient d_enclosing_h() const { return {0, 0, t < T ? -1.0 : 0.0, b > B ? 1.0 : 0.0}; }
};

EdgeGradient quotient_gradient(double num, const EdgeGradient& dnum, double den, const EdgeGradient& dden) {
  if (den <= 0) return {};
  const double s = 1 / (den * den);
  return {(den * dnum.l - num * dden.l) * s, (den * dnum.r - num * dden.r) * s,
          (den * dnum.t - num * dden.t) * s, (den * dnum.b - num * dden.b) * s};
}

// The area terms of IoU (and GIoU) on the edges, then to centre and size as box.c does.
CentreBox area_term_gradient(const Geometry& g, IouLoss loss) {
  const EdgeGradient du = g.d_union();
  EdgeGradient e = quotient_gradient(g.inter, g.d_inter(), g.area_union, du);
  if (loss == IouLoss::kGiou) {  // + d(U / C): GIoU = IoU - 1 + U / C
    const EdgeGradient dw = g.d_enclosing_w(), dh = g.d_enclosing_h();
    const EdgeGradient dc{g.ch * dw.l, g.ch * dw.r, g.cw * dh.t, g.cw * dh.b};
    const EdgeGradient u = quotient_gradient(g.area_union, du, g.enclosing_area(), dc);
    e = {e.l + u.l, e.r + u.r, e.t + u.t, e.b + u.b};
  }
  return {static_cast<float>(e.l + e.r), static_cast<float>(e.t + e.b), static_cast<float>(e.r - e.l),
          static_cast<float>(e.b - e.t)};
}

// -d(d^2 / c^2): the distance of the centres over the enclosing diagonal (DIoU, CIoU).
CentreBox distance_term_gradient(const Geometry& g, const CentreBox& p, const CentreBox& q) {
  const double c2 = g.diagonal2();
  if (c2 <= 0) return {};
  const double d2 = (p.x - q.x) * (p.x - q.x) + (p.y - q.y) * (p.y - q.y);
  const EdgeGradient dw = g.d_enclosing_w(), dh = g.d_enclosing_h();
  // The centre moves both edges by the same amount, the size each by half of it, opposite ways.
  const double dc2_dx = 2 * g.cw * (dw.l + dw.r), dc2_dy = 2 * g.ch * (dh.t + dh.b);
  const double dc2_dw = 2 * g.cw * (dw.r - dw.l) / 2, dc2_dh = 2 * g.ch * (dh.b - dh.t) / 2;
  const double s = 1 / (c2 * c2);
  return {static_cast<float>(-(2 * (p.x - q.x) * c2 - d2 * dc2_dx) * s),
          static_cast<float>(-(2 * (p.y - q.y) * c2 - d2 * dc2_dy) * s), static_cast<float>(d2 * dc2_dw * s),
          static_cast<float>(d2 * dc2_dh * s)};
}

double aspect_difference(const CentreBox& p, const CentreBox& q) { return std::atan(q.w / q.h) - std::atan(p.w / p.h); }

double ciou_alpha(double iou, double v) { return v / (1 - iou + v + kAlphaEpsilon); }

}  // namespace

float iou_kind(const CentreBox& pred, const CentreBox& truth, IouLoss loss) {
  const Geometry g(pred, truth);
  const double iou = g.iou();
  switch (loss) {
    case IouLoss::kMse:
    case IouLoss::kIou:
      return static_cast<float>(iou);
    case IouLoss::kGiou: {
      const double c = g.enclosing_area();
      return static_cast<float>(c > 0 ? iou - (c - g.area_union) / c : iou);
    }
    case IouLoss::kDiou:
    case IouLoss::kCiou: {
      const double c2 = g.diagonal2();
      const double d2 = (pred.x - truth.x) * (pred.x - truth.x) + (pred.y - truth.y) * (pred.y - truth.y);
      const double diou = c2 > 0 ? iou - d2 / c2 : iou;
      if (loss == IouLoss::kDiou) return static_cast<float>(diou);
      const double v = kAspectScale * std::pow(aspect_difference(pred, truth), 2);
      return static_cast<float>(diou - ciou_alpha(iou, v) * v);
    }
  }
  return static_cast<float>(iou);
}

CentreBox iou_gradient(const CentreBox& pred_box, const CentreBox& truth, IouLoss loss) {
  CentreBox pred = pred_box;  // box.c: a zero size would divide by zero
  if (pred.w == 0) pred.w = 1;
  if (pred.h == 0) pred.h = 1;
  const Geometry g(pred, truth);
  CentreBox grad = area_term_gradient(g, loss == IouLoss::kGiou ? IouLoss::kGiou : IouLoss::kIou);
  if (loss == IouLoss::kDiou || loss == IouLoss::kCiou) {
    const CentreBox d = distance_term_gradient(g, pred, truth);
    grad = {grad.x + d.x, grad.y + d.y, grad.w + d.w, grad.h + d.h};
  }
  if (loss == IouLoss::kCiou) {  // -alpha dv, without dv's 1 / (w^2 + h^2)
    const double diff = aspect_difference(pred, truth);
    const double alpha = ciou_alpha(g.iou(), kAspectScale * diff * diff);
    grad.w += static_cast<float>(alpha * 2 * kAspectScale * diff * pred.h);
    grad.h -= static_cast<float>(alpha * 2 * kAspectScale * diff * pred.w);
  }
  return grad;
}

}  // namespace facekit::train
