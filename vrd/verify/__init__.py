"""Answer verification: extraction, grading and format checks under a hard time bound.

Used by distill (rejection sampling), eval and the RL reward, so that all three grade alike.

Names load on first use, so that `vrd.verify.config` (which the CLI needs to build its flags)
does not start the grading machinery.
"""

from __future__ import annotations

from vrd.registry import lazy_exports

_EXPORTS = {
    "ANSWER_TYPES": "vrd.contract",
    "DEFAULT_TIMEOUT": "vrd.verify.grading",
    "FORMATS": "vrd.verify.formats",
    "REWARDS": "vrd.verify.reward",
    "RewardResult": "vrd.verify.reward",
    "VerifyResult": "vrd.verify.api",
    "check_format": "vrd.verify.formats",
    "extract_answer": "vrd.verify.extract",
    "fast_grade": "vrd.verify.grading",
    "grade": "vrd.verify.grading",
    "grade_batch": "vrd.verify.api",
    "infer_answer_type": "vrd.verify.grading",
    "normalize_gold": "vrd.verify.normalize",
    "normalize_math": "vrd.verify.normalize",
    "prewarm": "vrd.verify.pool",
    "score_batch": "vrd.verify.reward",
    "verify_batch": "vrd.verify.api",
    "verify_response": "vrd.verify.api",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
