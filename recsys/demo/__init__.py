"""The synthetic demo world and the adversarial catalog generator (``liner demo-data``)."""

from recsys.demo.abuse import ABUSE_KINDS, AbuseConfig, inject_abuse
from recsys.demo.generator import DemoConfig, generate_demo
from recsys.demo.tables import TRUTH_COLUMNS, AudioJob, CatalogTables
from recsys.demo.writer import read_folder, write_folder

__all__ = [
    "ABUSE_KINDS",
    "TRUTH_COLUMNS",
    "AbuseConfig",
    "AudioJob",
    "CatalogTables",
    "DemoConfig",
    "generate_demo",
    "inject_abuse",
    "read_folder",
    "write_folder",
]
