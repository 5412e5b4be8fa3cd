# SPDX-License-Identifier: BSD-3-Clause
"""Per-class weights of MLPClassifier's `class_weight`, as per-sample weights.

scikit-learn's MLPClassifier has no `class_weight`; its linear classifiers
and trees do, with the meaning kept here: each sample's loss term is scaled
by its class's weight, on top of any `sample_weight`. A class weight is
therefore exactly a sample weight shared by the class, and the kernels need
nothing new.
"""

import numbers

import numpy as np


def class_sample_weight(class_weight, classes, class_index, incremental, dtype):
    """Weight of each sample's class, shape (n_samples,), in `dtype`.

    `class_index[i]` is the position in `classes` of sample i's label.
    'balanced' gives class k the weight n_samples / (n_classes * count_k) over
    the samples given; a partial_fit call sees part of the data only, so
    'balanced' is refused there, as scikit-learn's SGDClassifier does.
    """
    n_classes = len(classes)
    if isinstance(class_weight, str):  # "balanced"; the constraints allow no other
        if incremental:
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one "
                "call sees only part of the data. Compute the weights once, e.g. "
                "with sklearn.utils.class_weight.compute_class_weight('balanced', "
                "classes=classes, y=y) on all (or a large sample of) the labels, "
                "and pass them as a dict."
            )
        # fit takes classes_ from these very labels (warm_start insists on
        # the same set), so every class is counted at least once.
        counts = np.bincount(class_index, minlength=n_classes)
        per_class = class_index.shape[0] / (n_classes * counts)
    else:
        labels = classes.tolist()
        known = set(labels)
        unknown = [label for label in class_weight if label not in known]
        if unknown:
            raise ValueError(
                f"class_weight has labels that are not classes: {unknown}; "
                f"the classes are {labels}."
            )
        per_class = np.ones(n_classes)
        for k, label in enumerate(labels):
            if label in class_weight:
                per_class[k] = _check_weight(label, class_weight[label])
    return per_class.astype(dtype)[class_index]


def _check_weight(label, weight):
    if not isinstance(weight, numbers.Real) or isinstance(weight, bool):
        raise ValueError(
            f"class_weight[{label!r}] must be a real number, got {weight!r}."
        )
    if not np.isfinite(weight) or weight < 0:
        raise ValueError(
            f"class_weight[{label!r}] must be finite and >= 0, got {weight!r}."
        )
    return float(weight)
