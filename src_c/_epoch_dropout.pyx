# SPDX-License-Identifier: BSD-3-Clause
# _epoch.pyx compiled with FASTMLP_WITH_DROPOUT=1 (see setup.py): the epochs
# of fits with dropout > 0. The other modules compile the dropout branches
# out, which keeps the code of a fit without dropout as it was (_dropout.h).
include "_epoch.pyx"
