"""One servicer per gRPC service; each converts at the edge and calls the domain."""

from recsys.service.servicers.admin import AdminServicer
from recsys.service.servicers.catalog import CatalogServicer
from recsys.service.servicers.deps import Conversation, MeteringReporter, ServiceDeps
from recsys.service.servicers.discovery import DiscoveryServicer
from recsys.service.servicers.experiments import ExperimentServicer
from recsys.service.servicers.feedback import FeedbackServicer
from recsys.service.servicers.recommendation import RecommendationServicer
from recsys.service.servicers.rights import RightsServicer

__all__ = [
    "AdminServicer",
    "CatalogServicer",
    "Conversation",
    "DiscoveryServicer",
    "ExperimentServicer",
    "FeedbackServicer",
    "MeteringReporter",
    "RecommendationServicer",
    "RightsServicer",
    "ServiceDeps",
]
