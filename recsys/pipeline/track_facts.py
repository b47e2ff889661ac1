"""The audio facts `liner build` measured (``catalog/{tempo,key,loudness_db,energy}.npy``), by
catalog row, for serving: every served item carries them where known.

Example:
    table = AudioFactsTable.load(Path("var/artifacts"), n_rows=len(catalog.track_ids))
    table.of_row(3).tempo_bpm   # 118.4, or None when the track has no measured tempo
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from recsys.pipeline.api import AudioFacts

logger = logging.getLogger(__name__)

_UNKNOWN = AudioFacts()


class AudioFactsTable:
    """Measured facts per catalog row; rows without a value (NaN, key -1) are unknown.

    Args:
        columns: fact name (``tempo``, ``key``, ``loudness_db``, ``energy``) → one value per
            row. A missing column means the fact is unknown for every track.
        key_names: names of the key codes.
    """

    def __init__(self, columns: dict[str, np.ndarray], key_names: tuple[str, ...] = ()) -> None:
        self.columns = columns
        self.key_names = key_names

    @classmethod
    def load(cls, artifact_dir: Path, n_rows: int) -> AudioFactsTable:
        """The facts of an artifact directory; files missing (artifacts built before the
        ``audio_facts`` step) or of the wrong length leave that fact unknown."""
        # The build step's module pulls in the audio stack; only its two constants are needed.
        from recsys.embeddings.audio_facts import FACT_FILES, KEY_NAMES

        columns: dict[str, np.ndarray] = {}
        for name, rel in FACT_FILES.items():
            path = Path(artifact_dir) / rel
            if not path.exists():
                continue
            values = np.load(path, allow_pickle=False)
            if values.shape != (n_rows,):
                logger.warning("%s has %s values for %d tracks; ignored", rel, values.shape, n_rows)
                continue
            columns[name] = values
        return cls(columns, KEY_NAMES)

    def _number(self, name: str, row: int) -> float | None:
        values = self.columns.get(name)
        if values is None:
            return None
        value = float(values[row])
        return value if np.isfinite(value) else None

    def of_row(self, row: int | None) -> AudioFacts:
        """The facts of one catalog row (all unknown for None)."""
        if row is None or not self.columns:
            return _UNKNOWN
        keys = self.columns.get("key")
        code = int(keys[row]) if keys is not None else -1
        tempo = self._number("tempo", row)
        loudness = self._number("loudness_db", row)
        energy = self._number("energy", row)
        return AudioFacts(
            tempo_bpm=round(tempo, 1) if tempo is not None else None,
            key=self.key_names[code] if 0 <= code < len(self.key_names) else None,
            loudness_db=round(loudness, 2) if loudness is not None else None,
            energy=round(energy, 4) if energy is not None else None,
        )


__all__ = ["AudioFactsTable"]
