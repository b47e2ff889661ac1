"""`liner report metering|integrity` and `liner screen`: the rights-holder and integrity views."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from recsys.errors import LinerError
from recsys.settings import LinerSettings
from recsys.store import Store

DB_HELP = "Store: SQLite file, sqlite:/// or postgresql:// URL (default LINER_DB or var/liner.db)."


@contextmanager
def _store(db: str | None) -> Iterator[Store]:
    from recsys.store import open_store

    try:
        store = open_store(db if db is not None else LinerSettings().db)
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield store
    except LinerError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()


@click.group("report")
def report_group() -> None:
    """Metering and integrity reports for rights holders and operators.

    Example:

        liner report metering --db var/liner.db --pool 10000 --csv payouts.csv
    """


@report_group.command("metering")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), help="Write holder rows.")
@click.option("--pool", default="0", help="Revenue pool to split (at most 6 decimals).")
@click.option(
    "--screen-streams/--no-screen-streams",
    default=True,
    help="Flag artificial plays in the event log first (default), so payouts follow it.",
)
def metering_command(
    db: str | None, as_json: bool, csv_path: Path | None, pool: str, screen_streams: bool
) -> None:
    """Plays credited to every rights holder by credit share, exactly.

    Shows plays and credited share per rights holder, attribution completeness, the share of
    plays influenced by AI features (agent answers, AI-assisted tracks) and payouts of
    --pool under the pro-rata and user-centric models, split into paid, withheld (plays of
    quarantined, disputed or unscreened tracks: paid once released) and forfeited (flagged
    plays and confirmed quarantines: redistributed over the plays not forfeited). In micro-units,
    paid + withheld + unallocated = pool exactly. The event log is screened for artificial
    streaming first (flags are recorded, plays kept).

    Example:

        liner report metering --db var/liner.db --pool 1000.00 --json
    """
    from recsys.integrity.figures import integrity_figures_from_store, seed_metrics
    from recsys.integrity.metering_report import metering_report_from_store
    from recsys.integrity.streams.screen import screen_streams as run_streams_screen

    try:
        Decimal(pool)
    except InvalidOperation as exc:
        raise click.BadParameter(f"{pool!r} is not a number", param_hint="--pool") from exc
    with _store(db) as store:
        if screen_streams:
            run_streams_screen(store)
        try:
            report = metering_report_from_store(store, pool)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--pool") from exc
        figures = integrity_figures_from_store(store)
    if csv_path is not None:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        csv_path.write_text(report.to_csv(), encoding="utf-8")
    data = report.to_dict()
    data["seed_metrics"] = seed_metrics(figures, report).to_dict()
    if as_json:
        click.echo(json.dumps(data, sort_keys=True))
        return
    click.echo(_metering_text(data))


def _metering_text(data: dict[str, Any]) -> str:
    """The metering report as a table: plays, then paid / withheld / forfeited money per
    holder (pro rata; user-centric paid in the last column), then the totals."""
    seed = data["seed_metrics"]
    lines = [
        f"plays {data['plays']} (paid {data['paid_plays']}, withheld {data['withheld_plays']}, "
        f"forfeited {data['forfeited_plays']})  linked to slates {data['linked_share']:.1%}  "
        f"AI-influenced {data['ai_influenced_share']:.1%}  "
        f"attribution completeness {data['attribution_completeness']:.1%}",
        f"artificial streams per 1,000 plays {seed['artificial_per_1000_plays']}  "
        f"violations per 1,000 uploads {seed['violations_per_1000_uploads']}  opt-in "
        + ", ".join(f"{k} {v:.1%}" for k, v in sorted(seed["opt_in_rate"].items())),
        f"{'rights holder':<24} {'plays':>13} {'share':>7} {'paid':>14} {'withheld':>14} "
        f"{'forfeited':>14} {'user-centric':>14}",
    ]
    for row in data["holders"]:
        lines.append(
            f"{row['rights_holder_id']:<24} {row['plays']:>13} {float(row['share']):>7.2%} "
            f"{row['payout_pro_rata']:>14} {row['withheld_pro_rata']:>14} "
            f"{row['forfeited_pro_rata']:>14} {row['payout_user_centric']:>14}"
        )
    for model, totals in data["payouts"].items():
        lines.append(
            f"{model}: pool {totals['pool']} = paid {totals['paid']} + withheld "
            f"{totals['withheld']} + unallocated {totals['unallocated']}; forfeited "
            f"{totals['forfeited']} (redistributed {totals['redistributed']})"
        )
    return "\n".join(lines)


@report_group.command("integrity")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A demo world's truth.csv: also score screening and detection against it.",
)
def integrity_command(db: str | None, as_json: bool, truth: Path | None) -> None:
    """Participation and integrity figures.

    Opt-in rate per consent scope, quarantines and violations per 1,000 uploads, time from
    upload to quarantine, and labels found by the AI detector.

    Example:

        liner report integrity --db var/liner.db --truth demo/truth.csv
    """
    from recsys.integrity.evaluation import evaluate_detection, evaluate_screening, read_truth
    from recsys.integrity.figures import integrity_figures_from_store, seed_metrics_from_store

    with _store(db) as store:
        data: dict[str, Any] = integrity_figures_from_store(store).to_dict()
        data["seed_metrics"] = seed_metrics_from_store(store).to_dict()
        if truth is not None:
            frame = read_truth(truth)
            data["against_truth"] = {
                "detection": evaluate_detection(store, frame),
                "screening": evaluate_screening(store, frame),
            }
    click.echo(json.dumps(data, sort_keys=True) if as_json else _text(data))


@report_group.command("leakage")
@click.option("--db", default=None, help=DB_HELP)
@click.option(
    "--artifacts",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Artifact directory built by `liner build` (default: LINER_ARTIFACTS).",
)
@click.option("--k", default=10, show_default=True, help="Slate size.")
@click.option("--listeners", default=0, help="Serve only the first N listeners (0: all).")
@click.option(
    "--truth",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A demo world's truth.csv: also count abusive uploads screening missed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
def leakage_command(
    db: str | None,
    artifacts: Path | None,
    k: int,
    listeners: int,
    truth: Path | None,
    as_json: bool,
) -> None:
    """Serve every listener a slate and count quarantined or unconsented-imitation items.

    The promise is a leakage of 0. Slates are not logged. With --truth, also counts the
    truly abusive uploads that screening missed and how often they were served.

    Example:

        liner report leakage --db var/liner.db --artifacts var/artifacts --truth demo/truth.csv
    """
    from recsys.integrity.evaluation import read_truth
    from recsys.integrity.leakage import measure_leakage
    from recsys.pipeline import load_recommender

    settings = LinerSettings()
    with _store(db) as store:
        rec = load_recommender(artifacts or settings.artifacts, store, settings, log_slates=False)
        ids = [u.listener_id for u in store.iter_listeners()]
        report = measure_leakage(
            rec,
            store,
            listener_ids=ids[:listeners] if listeners > 0 else ids,
            k=k,
            truth=read_truth(truth) if truth is not None else None,
        )
    data = report.to_dict()
    click.echo(json.dumps(data, sort_keys=True) if as_json else _text(data))
    if report.leakage:
        raise click.ClickException(f"{report.leakage} forbidden slate entries")


def _text(data: dict[str, Any], indent: str = "") -> str:
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(_text(value, indent + "  "))
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(line for line in lines if line)


@click.command("screen")
@click.option("--db", default=None, help=DB_HELP)
@click.option("--release", "release_id", help="Release this quarantined track instead.")
@click.option(
    "--confirm",
    "confirm_id",
    help="Confirm this track's quarantine instead: its plays are forfeited, not withheld.",
)
@click.option("--actor", help="Rights admin releasing the track (with --release).")
@click.option("--reason", help="Why the track is released (with --release).")
@click.option("--no-detect", is_flag=True, help="Skip the undeclared-AI detector.")
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also save the trained AI detector here (LightGBM text + JSON).",
)
@click.option(
    "--audio-cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep audio analyses here between runs (default: beside a SQLite store).",
)
@click.option("--streams", is_flag=True, help="Only screen the event log for artificial streaming.")
@click.option("--clear-listener", help="Clear the flagged plays of this listener (audited).")
@click.option("--clear-event", multiple=True, help="Clear this flagged play (audited).")
@click.option(
    "--resolve-dispute", "dispute_id", help="Decide this disputed track's AI label instead."
)
@click.option(
    "--label",
    type=click.Choice(["NONE", "ASSISTED", "GENERATED"]),
    help="The AI label a rights admin decided (with --resolve-dispute).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def screen_command(
    db: str | None,
    release_id: str | None,
    confirm_id: str | None,
    actor: str | None,
    reason: str | None,
    no_detect: bool,
    dry_run: bool,
    model_dir: Path | None,
    audio_cache: Path | None,
    streams: bool,
    clear_listener: str | None,
    clear_event: tuple[str, ...],
    dispute_id: str | None,
    label: str | None,
    as_json: bool,
) -> None:
    """Screen uploads, quarantine abuse and label undeclared AI; or release a track.

    Screens: near-duplicate audio of another rights holder's track (calibrated threshold),
    upload bursts, ultra-short tracks, keyword-stuffed titles and names imitating known
    artists. Flagged tracks are quarantined (never recommended) with their evidence. The AI
    detector then labels tracks that declare nothing. A rights admin releases a track with
    --release, --actor and --reason; every decision is audited. The event log is screened
    for artificial streaming too (--streams: only that, e.g. on a live service's log); flagged
    plays are kept but never paid nor learned from, and a rights admin clears them with
    --clear-listener or --clear-event, --actor and --reason.

    Example:

        liner screen --db var/liner.db

        liner screen --db var/liner.db --streams

        liner screen --db var/liner.db --clear-listener u_00042 --actor admin-7 --reason "fan"

        liner screen --db var/liner.db --release t_000123 --actor admin-7 --reason "licensed"

        liner screen --db var/liner.db --confirm t_000124 --actor admin-7 --reason "impersonation"

        liner screen --db var/liner.db --resolve-dispute t_000456 --label NONE \\
            --actor admin-7 --reason "session files show a human performance"

    Screening also checks declared NONE/ASSISTED labels: a strong contradiction puts the
    track in dispute (held: never served nor paid, labelled DISPUTED) until a rights admin
    decides it with --resolve-dispute, --label, --actor and --reason (audited).
    """
    from recsys.integrity.audio import store_audio_cache
    from recsys.integrity.jobs import run_integrity
    from recsys.integrity.quarantine import confirm_quarantine, release_track
    from recsys.integrity.streams.screen import clear_play_flags, screen_streams

    url = db if db is not None else LinerSettings().db
    with _store(url) as store:
        if dispute_id is not None:
            click.echo(_resolve_dispute(store, dispute_id, label, actor, reason, as_json))
            return
        if clear_listener is not None or clear_event:
            if not actor or not reason:
                raise click.UsageError("--clear-listener/--clear-event need --actor and --reason")
            cleared = clear_play_flags(
                store,
                actor=actor,
                reason=reason,
                event_ids=clear_event,
                listener_id=clear_listener,
            )
            data: dict[str, Any] = {"cleared": len(cleared), "actor": actor}
        elif streams:
            data = screen_streams(store, dry_run=dry_run).summary()
        elif confirm_id is not None:
            if not actor or not reason:
                raise click.UsageError("--confirm needs --actor and --reason")
            confirmed = confirm_quarantine(store, confirm_id, actor, reason)
            data = {"confirmed": confirm_id, "new": confirmed is not None, "actor": actor}
        elif release_id is not None:
            if not actor or not reason:
                raise click.UsageError("--release needs --actor and --reason")
            record = release_track(store, release_id, actor=actor, reason=reason)
            data = {
                "released": record.track_id,
                "actor": record.actor,
                "at": record.at.isoformat(),
            }
        else:
            cache = audio_cache if audio_cache is not None else store_audio_cache(url)
            run = run_integrity(
                store,
                detect=not no_detect,
                model_dir=model_dir,
                audio_cache=cache,
                dry_run=dry_run,
            )
            data = run.summary()
    click.echo(json.dumps(data, sort_keys=True, default=str) if as_json else _text(data))


def _resolve_dispute(
    store: Store,
    track_id: str,
    label: str | None,
    actor: str | None,
    reason: str | None,
    as_json: bool,
) -> str:
    from recsys.domain import AiInvolvement
    from recsys.integrity.disputes import resolve_dispute

    if not label or not actor or not reason:
        raise click.UsageError("--resolve-dispute needs --label, --actor and --reason")
    record = resolve_dispute(
        store, track_id, label=AiInvolvement(label), actor=actor, reason=reason
    )
    data = {
        "resolved": record.track_id,
        "declared": str(record.declared),
        "decided": str(record.decided),
        "actor": record.actor,
        "at": record.at.isoformat(),
    }
    return json.dumps(data, sort_keys=True) if as_json else _text(data)


__all__ = ["integrity_command", "metering_command", "report_group", "screen_command"]
