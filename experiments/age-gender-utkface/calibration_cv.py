"""Stage 18's rule, checked from a per-face CSV (`facekit eval classifier --predictions`): the
calibration line's worth on faces it was not fitted on. The faces sorted by image name, split into
two halves by alternate position; on each half a least-absolute-error line (scale on a grid of 0.001
from 0.8 to 1.4, offset the median residual, as the rule was written), scored on the other half:
MAE, exact and 1-off of the interval nearest the corrected age. Prints the numbers before and after.

    /usr/bin/python3 experiments/age-gender-utkface/calibration_cv.py val.csv
"""
import csv
import statistics
import sys

INTERVALS = [(0, 2), (4, 6), (8, 12), (15, 20), (25, 32), (38, 43), (48, 53), (60, 100)]


def nearest(age):  # datasets/age_intervals.cpp, nearest_age_interval: a tie keeps the lower
    best, best_distance = 0, float("inf")
    for i, (low, high) in enumerate(INTERVALS):
        distance = low - age if age < low else age - high if age > high else 0
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def read(path):
    faces = []
    for row in csv.DictReader(open(path)):
        low, high = map(int, row["age_interval"].strip("()").split(","))
        faces.append((row["image"], float(row["age"]), INTERVALS.index((low, high)), float(row["predicted_age"])))
    return sorted(faces)


def fit(faces):
    best = None
    for k in range(601):
        scale = 0.8 + 0.001 * k
        offset = statistics.median(age - scale * estimate for _, age, _, estimate in faces)
        error = sum(abs(age - offset - scale * estimate) for _, age, _, estimate in faces)
        if best is None or error < best[0]:
            best = (error, offset, scale)
    return best[1], best[2]


def score(faces, offset=0.0, scale=1.0):
    mae = exact = one_off = 0
    for _, age, interval, estimate in faces:
        corrected = offset + scale * estimate
        predicted = nearest(corrected)
        mae += abs(age - corrected)
        exact += predicted == interval
        one_off += abs(predicted - interval) <= 1
    return [mae, exact, one_off]


def main(path):
    faces = read(path)
    halves = [faces[0::2], faces[1::2]]
    after = [0, 0, 0]
    for k in (0, 1):
        offset, scale = fit(halves[k])
        print(f"half {k}: age = {offset:.4f} + {scale:.4f} x the estimate")
        after = [a + b for a, b in zip(after, score(halves[1 - k], offset, scale))]
    n = len(faces)
    before = score(faces)
    for name, b, a in zip(("MAE", "exact", "1-off"), before, after):
        print(f"{name}: {b / n:.4f} -> {a / n:.4f} (2-fold cross-validated)")


if __name__ == "__main__":
    main(sys.argv[1])
