"""Reference classifier metrics for tests/cli_test.cpp, from scikit-learn (Debian's python3-sklearn):
the numbers of `facekit eval classifier --json` recomputed from the same run's `--predictions` CSV.

    /usr/bin/python3 tests/classifier_metrics_ref.py PREDICTIONS.csv REPORT.json OUT.json

REPORT.json gives only the label lists (`age_intervals`, `gender_labels`); every number is
recomputed from the CSV. Writes OUT.json, one object with the report's keys.
"""
import csv
import json
import sys

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, mean_absolute_error, recall_score


def per_interval(values, intervals, metric):
    """`metric` over the faces of each labelled interval; 0 where an interval has none."""
    out = []
    for k in range(len(intervals)):
        chosen = [v for v in values if v[0] == k]
        out.append(float(metric(chosen)) if chosen else 0.0)
    return out


def main(predictions_csv, report_json, out_json):
    labels = json.load(open(report_json))
    intervals, genders = labels["age_intervals"], labels["gender_labels"]
    rows = list(csv.DictReader(open(predictions_csv, newline="")))

    with_gender = [r for r in rows if r["gender"]]
    true_g = [r["gender"] for r in with_gender]
    pred_g = [r["predicted_gender"] for r in with_gender]
    with_interval = [r for r in rows if r["age_interval"]]
    true_i = np.array([intervals.index(r["age_interval"]) for r in with_interval])
    pred_i = np.array([intervals.index(r["predicted_interval"]) for r in with_interval])
    with_years = [r for r in rows if r["age"] and r["predicted_age"]]
    true_y = [float(r["age"]) for r in with_years]
    pred_y = [float(r["predicted_age"]) for r in with_years]

    # (labelled interval, right?) and (labelled interval, true years, predicted years) per face
    gender_by_interval = [(intervals.index(r["age_interval"]), r["gender"] == r["predicted_gender"])
                          for r in with_gender if r["age_interval"]]
    years_by_interval = [(intervals.index(r["age_interval"]), float(r["age"]), float(r["predicted_age"]))
                         for r in with_years if r["age_interval"]]
    result = {
        "n": len(rows),
        "gender_n": len(with_gender),
        "age_n": len(with_interval),
        "mae_n": len(with_years),
        "gender_acc": accuracy_score(true_g, pred_g),
        "age_exact": accuracy_score(true_i, pred_i),
        "age_1off": float(np.mean(np.abs(true_i - pred_i) <= 1)),
        "age_mae": mean_absolute_error(true_y, pred_y),
        "gender_confusion": confusion_matrix(true_g, pred_g, labels=genders).tolist(),
        "age_confusion": confusion_matrix(true_i, pred_i, labels=list(range(len(intervals)))).tolist(),
        # a class's accuracy is its recall: right answers among the faces labelled with it
        "gender_acc_per_class": recall_score(true_g, pred_g, labels=genders, average=None, zero_division=0).tolist(),
        "age_acc_per_interval": recall_score(true_i, pred_i, labels=list(range(len(intervals))), average=None,
                                             zero_division=0).tolist(),
        "gender_acc_per_interval": per_interval(gender_by_interval, intervals,
                                                lambda v: accuracy_score([True] * len(v), [x[1] for x in v])),
        "age_mae_per_interval": per_interval(years_by_interval, intervals,
                                             lambda v: mean_absolute_error([x[1] for x in v], [x[2] for x in v])),
    }
    with open(out_json, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
