"""copydetect over a folder of answer files, each pair's shares and matching fragments printed as JSON; run by
:mod:`grader.similarity` in a child process with a fixed ``PYTHONHASHSEED``.

    python -m grader.similarity_detect ANSWERS_FOLDER TEMPLATE_FOLDER
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

TOKENS_PER_FINGERPRINT = 10  # copydetect's noise threshold: shorter matches are never reported
GUARANTEED_MATCH = 15  # copydetect's guarantee threshold: every match this long is found


def pairs(answers: Path, template: Path) -> list[dict]:
    from copydetect import CopyDetector

    logging.getLogger().setLevel(logging.ERROR)  # copydetect logs a warning per file through the root logger
    detector = CopyDetector(test_dirs=[str(answers)], boilerplate_dirs=[str(template)], extensions=["py"],
                            noise_t=TOKENS_PER_FINGERPRINT, guarantee_t=GUARANTEED_MATCH, display_t=0.0,
                            autoopen=False, silent=True, force_language="python",
                            truncate=True)  # matches with a few lines around them, not whole files, in the report
    detector.test_files = sorted(detector.test_files)  # the folder's listing order would orient each pair by chance
    detector.ref_files = sorted(detector.ref_files)
    detector.run()
    marked = {(Path(first).stem, Path(second).stem): (first_html, second_html)
              for _, _, first, second, first_html, second_html, _ in detector.get_copied_code_list()}
    found = []
    files = detector.test_files
    for i, first_file in enumerate(files):
        for j in range(i + 1, len(files)):
            first, second = Path(first_file).stem, Path(files[j]).stem
            share_first, share_second = (max(0.0, float(value)) for value in detector.similarity_matrix[i, j])
            first_html, second_html = marked.get((first, second)) or tuple(
                reversed(marked.get((second, first), ("", ""))))
            found.append({"first": first, "second": second, "share_first": share_first,
                          "share_second": share_second, "tokens": max(0, int(detector.token_overlap_matrix[i, j])),
                          "first_html": first_html, "second_html": second_html})
    return found


if __name__ == "__main__":
    json.dump(pairs(Path(sys.argv[1]), Path(sys.argv[2])), sys.stdout)
