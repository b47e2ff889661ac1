"""Every request of the hand-written paraphrase batches through `liner agent --json` on a demo
world: does any answer break what the request (and the listener) allowed?

The agent is loaded once as `liner agent --local` loads it (:func:`agent.cli.load_agent`) and
each request's answer is the JSON `liner agent --json` prints (``AgentAnswer.to_json``); a few
requests are also run through the real command, in a fresh process, and must give the same
tracks. The listener is one who allows AI music and has blocked artists (the world's own
``listeners.csv``), so nothing but the request and the blocks keeps a track out. Per answer,
by the catalog's own metadata in the JSON:

* a request that refuses AI-generated tracks (``no_ai_generated`` in its labels) gets none
  labelled ``GENERATED``; "no AI at all" gets only ``NONE``; "no AI vocals" none with AI
  vocals; "human artists only" only human credits;
* no credit (any role) of any item is a listener-blocked artist; a refusal is also asked again
  with ", and nothing by <artist>" for a catalog artist credited on many tracks, and that
  artist must be on no credit;
* a tempo bound in figures holds for every item's measured tempo (items without one are
  excluded); a bound from words holds where a tempo was measured; an era holds by release
  year, and no item is from a year the request refused ("no 80s"; labelled from batch 12 on).

The labels are the paraphrase sets' expected constraints, not the parser's reading, so a
misread request shows as a violation (``--show`` prints the offending texts). ``--out`` names
the result file (default results/agent_e2e.json).

Usage:
    liner demo-data --out W/demo --tracks 300 --listeners 50 --seed 7
    liner ingest W/demo --db W/demo.db && liner build --db W/demo.db --out W/artifacts
    python -m benchmarks.agent_e2e --world W [--sets heldout7_paraphrases,...] [--out F]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.agent_paraphrases import DEMO_SETS
from tests.agent.paraphrase_scoring import DATA_DIR, load

OUT = Path(__file__).parent / "results" / "agent_e2e.json"
SETS = DEMO_SETS
"""The batches labelled in the demo world's vocabulary (:mod:`benchmarks.agent_paraphrases`)."""
UNSEEN: tuple[str, ...] = ()
"""Batches whose offending texts are not printed: none since the 2026-12-08 stop, which printed
the AI, tempo and era misses of batches 8, 10 and 11 (the kinds this benchmark checks) to fix
them; their genre/exclusion misses stay unprinted (``benchmarks.agent_paraphrases.UNSEEN``)."""
K = 10


def _listener(world: Path) -> tuple[str, set[str]]:
    """An AI-allowing listener with blocked artists, the one whose blocks are credited most."""
    credited = Counter(r["artist_id"] for r in csv.DictReader((world / "demo/credits.csv").open()))
    best: tuple[int, str, set[str]] | None = None
    for row in csv.DictReader((world / "demo/listeners.csv").open()):
        blocked = {a for a in row["blocked_artist_ids"].split("|") if a}
        if row["ai_preference"] != "allow" or not blocked:
            continue
        n = sum(credited[a] for a in blocked)
        if best is None or n > best[0]:
            best = (n, row["user_id"], blocked)
    if best is None:
        raise SystemExit("the world has no AI-allowing listener with blocked artists")
    return best[1], best[2]


def _named_artist(world: Path, avoid: set[str]) -> tuple[str, str]:
    """A catalog artist credited on many tracks (not one the listener blocked): (id, name)."""
    credited = Counter(r["artist_id"] for r in csv.DictReader((world / "demo/credits.csv").open()))
    names = {r["artist_id"]: r["name"] for r in csv.DictReader((world / "demo/artists.csv").open())}
    for aid, _ in credited.most_common():
        if aid not in avoid and names.get(aid, "").replace(" ", "").isascii():
            return aid, names[aid]
    raise SystemExit("no artist to name")


def violations(expect: dict[str, Any], item: dict[str, Any], blocked: set[str]) -> list[str]:
    """What ``item`` breaks of the request's labelled constraints and the listener's blocks."""
    out: list[str] = []
    label = item["ai_label"]
    involvement = label["involvement"]
    if expect["no_ai_generated"] and involvement == "GENERATED":
        out.append("ai_generated")
    if expect["no_ai_any"] and involvement != "NONE":
        out.append("ai_any")
    if expect["no_ai_vocals"] and involvement != "NONE" and "vocals" in label["parts"]:
        out.append("ai_vocals")
    if expect["human_only"] and any(c["kind"] != "human" for c in item["credits"]):
        out.append("human_only")
    if {c["artist_id"] for c in item["credits"]} & blocked:
        out.append("blocked")
    tempo = item["tempo_bpm"]
    lo, hi = expect["tempo_min"], expect["tempo_max"]
    if lo is not None or hi is not None:
        if tempo is None:
            out.append("tempo_unmeasured")
        elif (lo is not None and tempo < lo) or (hi is not None and tempo > hi):
            out.append("tempo")
    y0, y1 = expect["year_min"], expect["year_max"]
    year = int(item["release_date"][:4]) if item["release_date"] else None
    if (y0 is not None or y1 is not None) and (
        year is None or (y0 is not None and year < y0) or (y1 is not None and year > y1)
    ):
        out.append("era")
    refused = expect.get("exclude_years") or ()
    if refused and (year is None or any(a <= year <= b for a, b in refused)):
        out.append("excluded_years")
    return out


def _cli(world: Path, listener: str, text: str) -> list[str]:
    """The track ids the real `liner agent --json --local` prints."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("liner")), "agent", text, "--json", "--local",
         "--listener", listener, "--k", str(K), "--artifacts", str(world / "artifacts"),
         "--db", str(world / "demo.db")],
        capture_output=True, text=True, env=env, timeout=900, check=True,
    )  # fmt: skip
    return [i["track_id"] for i in json.loads(done.stdout)["items"]]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--world", type=Path, required=True, help="holds demo/, demo.db, artifacts/")
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--cli-checks", type=int, default=2, help="requests also run as a command")
    ap.add_argument("--show", action="store_true", help="print offending texts")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    from agent.cli import load_agent
    from recsys.settings import LinerSettings

    world: Path = args.world
    listener, blocked = _listener(world)
    named_id, named = _named_artist(world, blocked)
    start = time.perf_counter()
    agent = load_agent(world / "artifacts", str(world / "demo.db"), LinerSettings())
    load_s = time.perf_counter() - start
    results: dict[str, Any] = {
        "world": str(world),
        "listener": listener,
        "listener_blocked": sorted(blocked),
        "named_artist": named,
        "k": K,
        "load_s": round(load_s, 1),
        "sets": {},
    }
    cli_texts: list[tuple[str, list[str]]] = []
    for name in args.sets.split(","):
        rows = load(DATA_DIR / f"{name}.jsonl")
        counts: Counter[str] = Counter()
        shown: list[tuple[str, list[str]]] = []
        items_total = empty = 0
        t0 = time.perf_counter()
        for row in rows:
            expect, text = row["expect"], row["text"]
            asks = [(text, blocked, expect)]
            if expect["no_ai_generated"]:
                asks.append((f"{text}, and nothing by {named}", blocked | {named_id}, expect))
            for ask, block, exp in asks:
                payload = agent.ask(ask, listener_id=listener, k=K).to_json()
                items = payload["items"]
                items_total += len(items)
                empty += not items
                found: set[str] = set()
                soft = bool(payload["constraints"].get("tempo_soft"))
                for item in items:
                    for v in violations(exp, item, block):
                        if not (v == "tempo_unmeasured" and soft):
                            found.add(v)  # a bound from words keeps unmeasured tracks
                counts.update(found)
                counts["requests"] += 1
                if found and name not in UNSEEN:
                    shown.append((ask, sorted(found)))
                if len(cli_texts) < args.cli_checks and exp["no_ai_generated"] and items:
                    cli_texts.append((ask, [i["track_id"] for i in items]))
        results["sets"][name] = {
            "requests": counts.pop("requests"),
            "refusing_ai": sum(bool(r["expect"]["no_ai_generated"]) for r in rows),
            "items": items_total,
            "empty_answers": empty,
            "violations": dict(counts),
            "s_per_request": round((time.perf_counter() - t0) / max(len(rows), 1), 3),
        }
        print(name, results["sets"][name])
        if args.show:
            for ask, found_kinds in shown:
                print("   ", found_kinds, ask)
    same = [_cli(world, listener, text) == ids for text, ids in cli_texts]
    results["cli_same_tracks"] = f"{sum(same)}/{len(same)}"
    print("liner agent --json --local gives the same tracks:", results["cli_same_tracks"])
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
