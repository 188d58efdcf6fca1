"""nbgrader's Submit for the course server, which leaves a submission folder writable by its student alone.

nbgrader makes each submission folder in the exchange writable by every account (so that an instructor who is
not root may delete it later), and counts on its random name to hide it. The course server's students run this
one instead (``c.ExchangeFactory.submit``, set by the server's nbgrader configuration): the same submission, its
folder then closed to everyone but its owner and readable by the instructor, who collects it as root or through
its group. The grader does not rely on it: a file in a submission folder that another account wrote is refused
at collection (grader/exchange.py).
"""

from __future__ import annotations

import os

from nbgrader.exchange.default.submit import ExchangeSubmit

SUBMISSION_MODE = 0o755


class SealedSubmit(ExchangeSubmit):
    def copy_files(self):
        super().copy_files()
        os.chmod(os.path.join(self.inbound_path, self.assignment_filename), SUBMISSION_MODE)
