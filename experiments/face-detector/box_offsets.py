#!/usr/bin/python3
"""Where a detector's boxes lie against the labelled ones: for every face >= 16 px (not WIDER's `invalid`) that a
detection scoring >= 0.25 finds at IoU >= 0.3 (greedy, highest score first, as
eval/detection_metrics.h matches), the detection's width and height over the face's, and its centre's
offset in face widths (x) and heights (y, positive: lower). Prints medians and quartiles.
    box_offsets.py wider:GT.txt|voc:XML_LIST.txt DETECTIONS.jsonl   (facekit-infer --json over the images)"""
import json
import os
import re
import statistics
import sys

MIN_SIDE, MIN_SCORE, MIN_IOU = 16, 0.25, 0.3


def read_wider(path):
    """{image name: [x, y, w, h] of each valid face}; WIDER's format: name, count, count lines
    `x y w h blur expression illumination invalid occlusion pose` (one zero line when count is 0)."""
    lines, faces, i = open(path).read().split("\n"), {}, 0
    while i < len(lines) and lines[i].strip():
        count = int(lines[i + 1])
        rows = [line.split() for line in lines[i + 2:i + 2 + max(count, 1)]]
        faces[os.path.basename(lines[i].strip())] = [[float(v) for v in r[:4]] for r in rows[:count] if r[7] == "0"]
        i += 2 + max(count, 1)
    return faces


def read_voc(list_path):
    """{image file name: [x, y, w, h] of every object} from Pascal VOC XML files, one path a line."""
    corners = re.compile(r"<xmin>([\d.]+)</xmin>\s*<ymin>([\d.]+)</ymin>\s*<xmax>([\d.]+)</xmax>\s*<ymax>([\d.]+)</ymax>")
    faces = {}
    for path in open(list_path).read().split():
        xml = open(path).read()
        boxes = [[float(v) for v in m.groups()] for m in corners.finditer(xml)]
        faces[re.search(r"<filename>([^<]*)", xml).group(1)] = [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in boxes]
    return faces


def iou(a, b):  # x1 y1 x2 y2
    w, h = max(0, min(a[2], b[2]) - max(a[0], b[0])), max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


def main(dataset, detections_path):
    kind, path = dataset.split(":", 1)
    truth = {"wider": read_wider, "voc": read_voc}[kind](path)
    ratios = {"width": [], "height": [], "centre x": [], "centre y": [], "IoU": []}
    for line in open(detections_path):
        record = json.loads(line)
        faces = [f for f in truth.get(os.path.basename(record["source"]), []) if min(f[2], f[3]) >= MIN_SIDE]
        unmatched = [[x, y, x + w, y + h] for x, y, w, h in faces]
        for det in sorted(record["faces"], key=lambda d: -d["score"]):
            if det["score"] < MIN_SCORE or not unmatched:
                continue
            best = max(unmatched, key=lambda f: iou(det["box"], f))
            overlap = iou(det["box"], best)
            if overlap < MIN_IOU:
                continue
            unmatched.remove(best)
            d, (fw, fh) = det["box"], (best[2] - best[0], best[3] - best[1])
            ratios["width"].append((d[2] - d[0]) / fw)
            ratios["height"].append((d[3] - d[1]) / fh)
            ratios["centre x"].append(((d[0] + d[2]) - (best[0] + best[2])) / 2 / fw)
            ratios["centre y"].append(((d[1] + d[3]) - (best[1] + best[3])) / 2 / fh)
            ratios["IoU"].append(overlap)
    print(f"{len(ratios['IoU'])} faces found at IoU >= {MIN_IOU}, {sum(v < 0.5 for v in ratios['IoU'])} of them below 0.5")
    for name, values in ratios.items():
        q1, median, q3 = statistics.quantiles(values, n=4)
        print(f"  {name:9s} median {median:.3f}  quartiles {q1:.3f} {q3:.3f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
