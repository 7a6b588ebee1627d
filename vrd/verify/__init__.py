"""Answer verification: extraction, grading and format checks under a hard time bound.

Used by distill (rejection sampling), eval and the RL reward, so that all three grade alike.
"""

from vrd.contract import ANSWER_TYPES
from vrd.verify.api import VerifyResult, grade_batch, verify_batch, verify_response
from vrd.verify.extract import extract_answer
from vrd.verify.formats import FORMATS, check_format
from vrd.verify.grade import DEFAULT_TIMEOUT, fast_grade, grade, infer_answer_type
from vrd.verify.normalize import normalize_gold, normalize_math
from vrd.verify.pool import prewarm
from vrd.verify.reward import REWARDS, RewardResult, score_batch

__all__ = [
    "ANSWER_TYPES",
    "DEFAULT_TIMEOUT",
    "FORMATS",
    "REWARDS",
    "RewardResult",
    "VerifyResult",
    "check_format",
    "extract_answer",
    "fast_grade",
    "grade",
    "grade_batch",
    "infer_answer_type",
    "normalize_gold",
    "normalize_math",
    "prewarm",
    "score_batch",
    "verify_batch",
    "verify_response",
]
