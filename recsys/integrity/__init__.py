"""Upload integrity, undeclared-AI detection, metering, and the participation figures."""

from recsys.integrity.ai_text import TextEvidence, text_evidence
from recsys.integrity.allocation import MICRO, allocate, decimal_to_micro, micro_to_decimal
from recsys.integrity.audio import AudioFeatures, extract_audio, extract_audio_cached
from recsys.integrity.detector import (
    AiDetector,
    AiDetectorConfig,
    Detection,
    detect_labels,
    train_detector,
    trainable,
)
from recsys.integrity.disputes import (
    DisputeCheck,
    DisputeConfig,
    check_declarations,
    resolve_dispute,
)
from recsys.integrity.evaluation import evaluate_detection, evaluate_screening, read_truth
from recsys.integrity.features import detector_features
from recsys.integrity.figures import (
    IntegrityFigures,
    SeedMetrics,
    integrity_figures,
    integrity_figures_from_store,
    seed_metrics,
    seed_metrics_from_store,
)
from recsys.integrity.jobs import IntegrityRun, resume_screening, run_integrity
from recsys.integrity.metering import (
    UNATTRIBUTED,
    MeteredPlay,
    PayoutHolds,
    Settlement,
    meter_plays,
    micro_shares,
    pro_rata_payouts,
    user_centric_payouts,
)
from recsys.integrity.metering_report import (
    HolderRow,
    MeteringReport,
    build_metering_report,
    meter_events,
    metering_report_from_store,
)
from recsys.integrity.names import name_similarity, normalise_name
from recsys.integrity.neardup import Calibration, NearDuplicateScreen, build_near_duplicate_screen
from recsys.integrity.quarantine import (
    SCREENING_ACTOR,
    ScreeningResult,
    confirm_quarantine,
    release_track,
    screen_store,
)
from recsys.integrity.screening import (
    Flag,
    ImitationNameScreen,
    KeywordStuffingScreen,
    Screen,
    ScreenContext,
    ScreeningConfig,
    UltraShortScreen,
    UploadBurstScreen,
    default_screens,
    run_screens,
)

__all__ = [
    "MICRO",
    "SCREENING_ACTOR",
    "UNATTRIBUTED",
    "AiDetector",
    "AiDetectorConfig",
    "AudioFeatures",
    "Calibration",
    "Detection",
    "DisputeCheck",
    "DisputeConfig",
    "Flag",
    "HolderRow",
    "ImitationNameScreen",
    "IntegrityFigures",
    "IntegrityRun",
    "KeywordStuffingScreen",
    "MeteredPlay",
    "MeteringReport",
    "NearDuplicateScreen",
    "PayoutHolds",
    "Screen",
    "ScreenContext",
    "ScreeningConfig",
    "ScreeningResult",
    "SeedMetrics",
    "Settlement",
    "TextEvidence",
    "UltraShortScreen",
    "UploadBurstScreen",
    "allocate",
    "build_metering_report",
    "build_near_duplicate_screen",
    "check_declarations",
    "confirm_quarantine",
    "decimal_to_micro",
    "default_screens",
    "detect_labels",
    "detector_features",
    "evaluate_detection",
    "evaluate_screening",
    "extract_audio",
    "extract_audio_cached",
    "integrity_figures",
    "integrity_figures_from_store",
    "meter_events",
    "meter_plays",
    "metering_report_from_store",
    "micro_shares",
    "micro_to_decimal",
    "name_similarity",
    "normalise_name",
    "pro_rata_payouts",
    "read_truth",
    "release_track",
    "resolve_dispute",
    "resume_screening",
    "run_integrity",
    "run_screens",
    "screen_store",
    "seed_metrics",
    "seed_metrics_from_store",
    "text_evidence",
    "train_detector",
    "trainable",
    "user_centric_payouts",
]
