"""Synthesised audio clips for the demo world, one timbre, tempo and key per genre.

Clips are short (a couple of seconds) and rendered in batches with numpy, so thousands of them
take seconds. Genres differ in harmonic profile, brightness, distortion, percussion, tempo and
key, so content features (MFCC, chroma, spectral contrast, tempo) separate them; artists add a
small, stable variation of their own, and every clip varies its own tempo (a few per cent),
tuning, harmonic balance and phrase start on top, so no two tracks (machine-made ones
included) render the same audio. Each track also has a tune of its own: a key within two
semitones of its genre's, a mode (major, minor, dorian, mixolydian, harmonic minor,
pentatonic, blues), a rhythm of notes from half to twice the genre's note length, and its
own melody. Distinct clips of one genre then share a sound and a tempo but not their
landmarks, so the near-duplicate screen can tell a re-encoded copy from a genre-mate (before,
distinct clips matched each other as strongly as copies, and the screen had to stay off).
Every clip holds at least :data:`MIN_NOTES` melody notes,
so even the slowest genres carry a melody of their own.

Machine-made clips (``machine=True``) carry a subtle signature an honest detector can learn:
perfectly stable pitch (no vibrato or detuning), exactly quantised timing, no noise floor and
peaks normalised to exactly -1 dBFS. Human clips drift, swing a little and hiss faintly.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
CLIP_SECONDS = 1.5
_MACHINE_PEAK = 10 ** (-1 / 20)
MIN_NOTES = 4

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_DORIAN = (0, 2, 3, 5, 7, 9, 10)
_MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
_HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)
_PENTATONIC = (0, 2, 4, 7, 9)
_BLUES = (0, 3, 5, 6, 7, 10)
_MODES = (_MAJOR, _MINOR, _DORIAN, _MIXOLYDIAN, _HARMONIC_MINOR, _PENTATONIC, _BLUES)
_KEY_RANGE = 2  # semitones a track may sit from its genre's key, either way
_NOTE_LENGTHS = (0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0)  # in the genre's notes


@dataclass(frozen=True, kw_only=True)
class GenreSound:
    """How one genre sounds.

    Attributes:
        bpm: tempo.
        root_midi: MIDI note of the key's root (the key sets the chroma profile).
        scale: semitone offsets of the genre's usual scale (kept for reference; each track
            renders in a mode of its own, see :func:`render_clips`).
        harmonics: relative amplitudes of harmonics 1..n (the timbre).
        brightness_hz: harmonics fade as exp(-frequency / brightness_hz).
        drive: tanh distortion; 0 is clean.
        hat: level of noise bursts on the off-beats.
        kick: level of a low thump on each beat.
        notes_per_beat: melody notes per beat.
        attack_s: note attack time.
        decay_s: note decay time (short is plucked, long is bowed or pad-like).
        vibrato_cents: vibrato depth of human performances.
    """

    bpm: float
    root_midi: int
    scale: tuple[int, ...]
    harmonics: tuple[float, ...]
    brightness_hz: float
    drive: float = 0.0
    hat: float = 0.0
    kick: float = 0.0
    notes_per_beat: float = 1.0
    attack_s: float = 0.01
    decay_s: float = 0.3
    vibrato_cents: float = 8.0


_SAW = tuple(1.0 / k for k in range(1, 11))
_SQUARE = tuple((1.0 / k if k % 2 else 0.05 / k) for k in range(1, 10))

GENRE_SOUNDS: dict[str, GenreSound] = {
    "pop": GenreSound(bpm=118, root_midi=60, scale=_MAJOR, harmonics=(1, 0.5, 0.3, 0.2, 0.1),
                      brightness_hz=2500, hat=0.15, kick=0.5, notes_per_beat=1, decay_s=0.25),
    "rock": GenreSound(bpm=136, root_midi=52, scale=_MINOR, harmonics=_SAW, brightness_hz=3000,
                       drive=2.5, hat=0.25, kick=0.6, notes_per_beat=2, decay_s=0.4),
    "hip-hop": GenreSound(bpm=88, root_midi=43, scale=_MINOR, harmonics=(1, 0.3, 0.1),
                          brightness_hz=900, hat=0.2, kick=1.0, notes_per_beat=0.5, decay_s=0.5),
    "electronic": GenreSound(bpm=128, root_midi=57, scale=_MINOR, harmonics=_SQUARE,
                             brightness_hz=5000, hat=0.35, kick=0.9, notes_per_beat=2,
                             decay_s=0.12, vibrato_cents=2),
    "jazz": GenreSound(bpm=104, root_midi=58, scale=_DORIAN, harmonics=(1, 0.45, 0.2, 0.08),
                       brightness_hz=1400, hat=0.08, notes_per_beat=2, decay_s=0.35,
                       vibrato_cents=12),
    "classical": GenreSound(bpm=72, root_midi=62, scale=_MAJOR,
                            harmonics=(1, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08),
                            brightness_hz=2200, notes_per_beat=1, attack_s=0.12, decay_s=1.5,
                            vibrato_cents=18),
    "folk": GenreSound(bpm=96, root_midi=55, scale=_MAJOR, harmonics=(1, 0.6, 0.4, 0.3, 0.2, 0.1),
                       brightness_hz=1800, hat=0.05, kick=0.2, notes_per_beat=2, attack_s=0.003,
                       decay_s=0.18, vibrato_cents=6),
    "metal": GenreSound(bpm=172, root_midi=38, scale=_MINOR, harmonics=_SAW, brightness_hz=4000,
                        drive=6.0, hat=0.4, kick=1.0, notes_per_beat=2, decay_s=0.5),
    "ambient": GenreSound(bpm=60, root_midi=53, scale=_MAJOR, harmonics=(1, 0.15, 0.05),
                          brightness_hz=700, notes_per_beat=0.5, attack_s=0.4, decay_s=3.0,
                          vibrato_cents=4),
}  # fmt: skip

DEFAULT_SOUND = GENRE_SOUNDS["pop"]


@dataclass(frozen=True, kw_only=True)
class ClipSpec:
    """What one clip should sound like.

    Attributes:
        genre: a key of :data:`GENRE_SOUNDS` (unknown genres sound like pop).
        seed: the clip's own seed (melody, jitter, noise).
        tempo_scale: the artist's tempo habit (about 0.94-1.06).
        brightness_scale: the artist's tone colour (about 0.8-1.25).
        key_shift: semitones the artist transposes by.
        machine: render with the machine signature (see the module docstring).
    """

    genre: str
    seed: int
    tempo_scale: float = 1.0
    brightness_scale: float = 1.0
    key_shift: int = 0
    machine: bool = False


def clip_bpm(spec: ClipSpec) -> float:
    """The tempo a clip is rendered at: its genre's, times the artist's habit, times the
    track's own few per cent (the one place it is computed; the demo world declares it as
    ``items.audio_tempo``)."""
    sound = GENRE_SOUNDS.get(spec.genre, DEFAULT_SOUND)
    own = np.random.default_rng([9174, spec.seed]).uniform(0, 1, size=12)
    return float(sound.bpm * spec.tempo_scale * (0.96 + 0.08 * own[0]))


def render_clips(
    specs: Sequence[ClipSpec], *, sr: int = SAMPLE_RATE, seconds: float = CLIP_SECONDS
) -> list[np.ndarray]:
    """Render clips, batched by genre; the result is in the order of ``specs``.

    Each clip depends only on its own spec, never on its batch, so adding clips does not change
    the others.
    """
    out: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * len(specs)
    by_genre: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        by_genre.setdefault(spec.genre if spec.genre in GENRE_SOUNDS else "", []).append(i)
    for genre, idx in sorted(by_genre.items()):
        sound = GENRE_SOUNDS.get(genre, DEFAULT_SOUND)
        for start in range(0, len(idx), 128):
            chunk = idx[start : start + 128]
            clips = _render_batch(sound, [specs[i] for i in chunk], sr=sr, seconds=seconds)
            for row, i in enumerate(chunk):
                out[i] = clips[row]
    return out


def _render_batch(
    sound: GenreSound, specs: Sequence[ClipSpec], *, sr: int, seconds: float
) -> np.ndarray:
    n, length = len(specs), int(sr * seconds)
    f32 = np.float32
    t = (np.arange(length) / sr).astype(f32)
    # Slow modulations (timing drift, vibrato) on a coarse grid, then held per block.
    block = 32
    tc = np.arange(0, length, block) / sr
    rngs = [np.random.default_rng([9173, s.seed]) for s in specs]
    # The track's own variation, from a stream of its own (the draws above stay as they were):
    # tempo, tuning in cents, harmonic balance, brightness, and where in the phrase it starts.
    own = np.stack([np.random.default_rng([9174, s.seed]).uniform(0, 1, size=12) for s in specs])
    human = np.array([0.0 if s.machine else 1.0 for s in specs], dtype=f32)[:, None]
    tempo = np.array([clip_bpm(s) for s in specs])
    beat = (60.0 / tempo)[:, None].astype(f32)
    note = np.minimum(beat / f32(sound.notes_per_beat), f32(seconds / MIN_NOTES))
    n_notes = int(np.ceil(seconds / note.min())) + 3

    # Human timing drifts smoothly by ~10 ms; machine timing sits exactly on the grid.
    params = np.stack([r.uniform(0, 1, size=9) for r in rngs])
    jitter = np.zeros((n, len(tc)))
    for k in range(3):
        rate, offset = 0.5 + 2.5 * params[:, [k]], 6.3 * params[:, [k + 3]]
        jitter += 0.004 * np.sin(2 * np.pi * rate * tc + offset)
    start = (own[:, [1]] * note).astype(f32)
    tw = t + start + human * np.repeat(jitter.astype(f32), block, axis=1)[:, :length]
    # The track's own melody, from a third stream: its key within the genre's register, its
    # mode, its rhythm (note lengths of 1/2 to 2 of the genre's note) and its leaps. One
    # genre's clips share a sound and a tempo, not a tune.
    tunes = [np.random.default_rng([9175, s.seed]) for s in specs]
    n_notes = 2 * n_notes + 3
    lengths = np.stack([r.choice(_NOTE_LENGTHS, size=n_notes) for r in tunes]) * note
    onsets = (np.cumsum(lengths, axis=1) - lengths).astype(f32)
    note_idx = np.stack(
        [np.searchsorted(o, w, side="right") - 1 for o, w in zip(onsets, tw, strict=True)]
    )
    note_idx = np.clip(note_idx, 0, n_notes - 1)

    modes = [_MODES[int(r.integers(len(_MODES)))] for r in tunes]
    key = np.array([int(r.integers(-_KEY_RANGE, _KEY_RANGE + 1)) for r in tunes])[:, None]
    walk = np.clip(np.stack([np.cumsum(r.integers(-2, 3, size=n_notes)) for r in tunes]), -6, 9)
    semis = np.stack(
        [
            12 * np.floor_divide(w, len(m)) + np.asarray(m)[np.mod(w, len(m))]
            for w, m in zip(walk, modes, strict=True)
        ]
    )
    shift = np.array([s.key_shift for s in specs])[:, None] + key
    detune = human * np.stack([r.normal(0, 10, size=n_notes) for r in rngs]) / 100
    tuning = (own[:, [2]] - 0.5) * 0.6  # up to 30 cents either way
    midi = sound.root_midi + shift + semis + detune + tuning
    freq_notes = 440.0 * 2 ** ((midi - 69) / 12)
    f = np.take_along_axis(freq_notes.astype(f32), note_idx, axis=1)
    vibrato = sound.vibrato_cents * np.sin(2 * np.pi * 5.5 * tc + 6.3 * params[:, [6]])
    wobble = 2 ** (human * np.repeat(vibrato.astype(f32), block, axis=1)[:, :length] / 1200)
    phase = np.mod(2 * np.pi * np.cumsum(f * wobble, axis=1, dtype=np.float64) / sr, 2 * np.pi)
    phase = phase.astype(f32)

    # Harmonic k by the recurrence sin(k x) = 2 cos(x) sin((k-1) x) - sin((k-2) x).
    bright = sound.brightness_hz * np.array([s.brightness_scale for s in specs])[:, None]
    bright = bright * (0.85 + 0.3 * own[:, [3]])
    balance = 0.7 + 0.6 * own[:, 4:]  # per-harmonic level, 0.7-1.3
    s_prev, s_cur = np.zeros_like(phase), np.sin(phase)
    two_cos = 2 * np.cos(phase)
    tone = np.zeros((n, length), dtype=f32)
    for k, amp in enumerate(sound.harmonics, start=1):
        if k > 1:
            s_prev, s_cur = s_cur, two_cos * s_cur - s_prev
        if amp <= 0:
            continue
        level = amp * balance[:, [(k - 2) % balance.shape[1]]] if k > 1 else amp
        w_notes = (level * np.exp(-k * freq_notes / bright) * (k * freq_notes < sr / 2)).astype(f32)
        tone += np.take_along_axis(w_notes, note_idx, axis=1) * s_cur
    pos = tw - np.take_along_axis(onsets, note_idx, axis=1)
    env = (1 - np.exp(-pos / f32(sound.attack_s))) * np.exp(-pos / f32(sound.decay_s))
    mix = tone * env

    root_hz = (440.0 * 2 ** ((sound.root_midi + shift - 24 - 69) / 12)).astype(f32)
    bpos = np.mod(tw, beat)
    mix += f32(0.35) * np.sin(f32(2 * np.pi) * root_hz * t) * np.exp(-bpos / (2 * beat))
    noise = np.stack([r.standard_normal(length, dtype=f32) for r in rngs])
    if sound.hat:
        offbeat = np.mod(tw + beat / 2, beat)
        mix += f32(sound.hat) * noise * np.exp(-offbeat / f32(0.025))
    if sound.kick:
        sweep = f32(2 * np.pi) * (45 * bpos + f32(1.6) * (1 - np.exp(-bpos / f32(0.02))))
        mix += f32(sound.kick) * np.sin(sweep) * np.exp(-bpos / f32(0.15))
    if sound.drive:
        mix = np.tanh(f32(sound.drive) * mix) / f32(np.tanh(sound.drive))

    peak = np.abs(mix).max(axis=1, keepdims=True) + f32(1e-9)
    level = np.where(human > 0, params[:, [7]] * 0.35 + 0.5, _MACHINE_PEAK).astype(f32)
    mix = mix / peak * level
    # The noise floor (tape hiss, room, mains hum) of a human recording, about -60 dB.
    floor = (10 ** ((-66 + 10 * params[:, [8]]) / 20)).astype(f32)
    hum = np.sin(f32(2 * np.pi * 50) * t)
    mix = mix + human * floor * (np.roll(noise, 7919, axis=1) + f32(0.5) * hum)
    return np.asarray(np.clip(mix, -1, 1), dtype=f32)


def perturb_clip(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A re-encoded copy of ``clip``: other gain, a slight pitch change, added noise.

    What a re-upload of someone else's track looks like after a lossy round trip; the audio
    embedding stays close to the original's.
    """
    ratio = 1 + rng.choice([-1, 1]) * rng.uniform(0.005, 0.025)
    src = np.arange(len(clip), dtype=np.float64)
    shifted = np.interp(np.clip(src * ratio, 0, len(clip) - 1), src, clip.astype(np.float64))
    gain = rng.uniform(0.7, 1.2)
    hiss = rng.standard_normal(len(clip)) * 10 ** (rng.uniform(-48, -38) / 20)
    return np.asarray(np.clip(shifted * gain + hiss, -1, 1), dtype=np.float32)


def write_clip(path: Path, clip: np.ndarray, *, sr: int = SAMPLE_RATE) -> None:
    """Write a mono clip as 16-bit FLAC (or WAV when the suffix says so)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "WAV" if path.suffix.lower() == ".wav" else "FLAC"
    sf.write(str(path), clip, sr, format=fmt, subtype="PCM_16")


def read_clip(path: Path) -> tuple[np.ndarray, int]:
    """Read an audio file as mono float32 and its sample rate."""
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    return data.mean(axis=1), int(sr)


__all__ = [
    "CLIP_SECONDS",
    "DEFAULT_SOUND",
    "GENRE_SOUNDS",
    "MIN_NOTES",
    "SAMPLE_RATE",
    "ClipSpec",
    "GenreSound",
    "clip_bpm",
    "perturb_clip",
    "read_clip",
    "render_clips",
    "write_clip",
]
