"""Lab 00's rules: each exercise written by hand, not handed to sklearn or to the kit's :mod:`course.pytorch_basics`."""

from __future__ import annotations

from course.judging import forbid
from course.language import tr


def library_standardise_disabled():
    """sklearn's scaling and the kit's standardise raise while the student's code runs (exercise 1)."""
    return forbid("sklearn.preprocessing.StandardScaler.fit", "sklearn.preprocessing.StandardScaler.transform",
                  "sklearn.preprocessing.StandardScaler.fit_transform", "sklearn.preprocessing.scale",
                  "course.pytorch_basics.standardise",
                  message=tr("standardise the columns yourself, with broadcasting"))


def kit_module_disabled():
    """The kit's LogisticRegression raises while the student's code runs (exercise 3)."""
    return forbid("course.pytorch_basics.LogisticRegression", message=tr("write the module yourself"))


def kit_dataset_disabled():
    """The kit's dataset and batches raise while the student's code runs (exercise 4)."""
    return forbid("course.pytorch_basics.DigitFeatures", "course.pytorch_basics.digit_features",
                  "course.pytorch_basics.shuffled_batches", message=tr("write the dataset and the loader yourself"))


def kit_loop_disabled():
    """The kit's training loop and batches raise while the student's code runs (exercise 5)."""
    return forbid("course.pytorch_basics.fit", "course.pytorch_basics.shuffled_batches",
                  message=tr("write the training loop yourself"))


def kit_evaluate_disabled():
    """The kit's evaluate raises while the student's code runs (exercise 6)."""
    return forbid("course.pytorch_basics.evaluate", message=tr("write the evaluation yourself"))
