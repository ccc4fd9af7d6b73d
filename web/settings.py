"""Application settings, read from MATCHMAKER_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every tunable of the platform; documented in docs/settings.md."""

    model_config = SettingsConfigDict(env_prefix="MATCHMAKER_", env_file=None, extra="ignore")

    data_dir: str = Field(
        default="",
        description="Folder for every file the platform writes while it runs: the default SQLite database "
        "(matchmaker.db), uploaded import files waiting for confirmation (imports/), technology images, re-encoded and "
        "served by the app with their own headers (technology-images/: back it up with the database), and files "
        "derived from the model (models/, unless MATCHMAKER_MODEL_CACHE_DIR says otherwise), and the kept match "
        "indexes (match-index/, unless MATCHMAKER_INDEX_DIR says otherwise). Empty: var/ of the project.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the database (SQLite file or postgresql+psycopg://...). Empty: "
        "matchmaker.db in the data folder.",
    )
    sqlite_busy_timeout: float = Field(
        default=15,
        description="SQLite only: seconds a request waits for another's write to finish before it answers 503 "
        "(Retry-After) instead.",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs session cookies and tokens. Empty: a random key is made per process "
        "(development only).",
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public address used in emailed links.")
    default_language: str = Field(default="en", description="UI language for visitors who chose none (en or ja).")
    default_time_zone: str = Field(default="Asia/Tokyo", description="Time zone for visitors who chose none.")
    smtp_host: str = Field(default="", description="SMTP server; empty writes outgoing mail to the log instead.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_sender: str = Field(default="JCM Matchmaker <no-reply@localhost>", description="From address of emails.")
    smtp_username: str = Field(default="", description="SMTP login name, if the server needs one.")
    smtp_password: str = Field(default="", description="SMTP password, if the server needs one.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_timeout_seconds: float = Field(
        default=20.0,
        description="Seconds to wait for each answer of the SMTP server. A mail whose answer comes too late is retried "
        "with the same Message-ID (it may have been delivered), so mail clients show it once.",
    )
    mail_debug_dir: str = Field(
        default="",
        description="Development: a folder where every outgoing mail is also written as an .eml file (open it with a "
        "mail client). Without an SMTP server, this is how to read mails such as password reset links; the log never "
        "holds their content. Empty: off.",
    )
    outbox_body_days: int = Field(
        default=30, ge=1,
        description="Days the text of a sent (or given-up) email stays in the outbox, for support questions; then the "
        "hourly clean-up removes it and keeps recipient, subject, status and Message-ID. Bodies that held a single-use "
        "link go as soon as the email is sent.",
    )
    embedding_model: str = Field(
        default="",
        description="Sentence-transformers model: a folder path or an installed package name. Empty: the bundled "
        "all-MiniLM-L6-v2. `hashing` (or `hashing:DIM`) is a tiny deterministic word-hashing embedder for tests and "
        "development only.",
    )
    embedding_interval_seconds: int = Field(
        default=30, description="Seconds between runs of the job that embeds new and changed profiles.",
    )
    matching_min_feedback: int = Field(
        default=30,
        description="Answered meeting requests needed before weights learned from them replace the default matching "
        "weights.",
    )
    matching_inline_refresh: bool = Field(
        default=False,
        description="Build the matching index inside the page request that finds it out of date, instead of in the "
        "background refresher (tests and one-off scripts only: the page then waits for the build).",
    )
    matching_refresh_seconds: int = Field(
        default=30, description="Seconds between checks of the background job that refreshes the matching index.",
    )
    matching_learn_seconds: float = Field(
        default=300.0, ge=0,
        description="Shortest time between two learnings of the matching weights from accepted and declined "
        "requests. Answers alone (no profile change) wait for it; a profile change refreshes the index at once.",
    )
    matching_check_seconds: float = Field(
        default=2.0, ge=0,
        description="Pre-Matching views within this many seconds of a check that found the match index current "
        "show it without checking again; a profile change reaches the recommendations that much later.",
    )
    background_gil_turn_seconds: float = Field(
        default=0.001, ge=0, le=0.1,
        description="While background work runs in a server process (the matching index build and refresh, the "
        "scheduled jobs), Python's switch interval in seconds: pages wait at most this long to get the "
        "interpreter back from it, and the work takes longer in turn. 0 keeps Python's default (5 ms).",
    )
    index_build_process: bool = Field(
        default=True,
        description="Build the whole match index (after a start, or when many organizations changed) in a child "
        "process of lower priority, so a minute of pure Python at 100,000 organizations never holds the pages' "
        "interpreter; the result is pickled back. False builds it in a thread of the server process (an in-memory "
        "SQLite database always does).",
    )
    index_dir: str = Field(
        default="",
        description="Folder where the newest whole match index of each model is kept (a file about the index's "
        "size in memory, owner-only): the server's other processes, a process that replaces one, and the next start "
        "read it and bring it up to date instead of building it again. Empty: match-index/ in the data folder; "
        "\"off\": none kept, each process builds its own. Must be a folder of the server's user that nobody else "
        "can write to (it is read as a pickle); otherwise it is not used.",
    )
    match_floor: float = Field(
        default=-1.0,
        description="Matches scoring at or below this share (0-1) are not recommended. Negative: the engine's "
        "default floor (see docs/matching.md); 0 shows every match that scores anything (benchmarks).",
    )
    embedding_precision: str = Field(
        default="auto",
        description="How the model runs on CPU: auto (fastest configuration that keeps the vectors: ONNX Runtime "
        "float32 on AVX2, bfloat16 where the CPU has it), fp32 (plain torch), bfloat16, onnx-fp32.",
    )
    model_cache_dir: str = Field(
        default="",
        description="Folder for files derived from the model (the ONNX export). Empty: models/ in the data folder.",
    )
    session_max_age: int = Field(default=14 * 24 * 3600, description="Seconds a login lasts.")
    secure_cookies: bool = Field(default=False, description="Send cookies only over HTTPS (set in production).")
    login_max_failures: int = Field(
        default=5,
        description="Failed logins for one email from one address before each further try must wait "
        "(2, 4, 8, ... seconds). Another address is not affected, so a stranger cannot lock the owner out.",
    )
    login_max_delay_seconds: int = Field(
        default=3600, description="Longest wait between failed logins for one email from one address.",
    )
    login_address_max_failures: int = Field(
        default=100,
        description="Failed logins from one address (any emails) in the window before it must wait for the window to "
        "end.",
    )
    login_window_seconds: int = Field(
        default=900,
        description="Window of the per-address count; an email's count starts again after this long without "
        "failures.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses or CIDR "
        "ranges separated by commas (e.g. 127.0.0.1, 10.0.0.0/8). Empty: none, the connecting address is the client.",
    )
    password_reset_hours: int = Field(default=2, description="Hours a password reset link stays valid.")
    email_confirm_hours: int = Field(
        default=48, description="Hours the link that confirms a sign-up's email address stays valid.",
    )
    run_scheduler: bool = Field(
        default=True, description="Run scheduled jobs inside the web process (single-process deployments).",
    )
    request_expiry_days: int = Field(default=14, description="Days a meeting request stays pending before it expires.")
    invitation_days: int = Field(
        default=14, ge=1,
        description="Days an invitation link stays valid (an organization's contact claims the organization with it).",
    )
    invitation_resend_days: int = Field(
        default=7, ge=0,
        description="A meeting request to an organization without an account invites its contact by email, but not "
        "again when an invitation went out within this many days.",
    )
    page_size: int = Field(default=20, description="Rows per page in lists such as the directory.")
    event_reminder_hours: int = Field(
        default=24, ge=1,
        description="Hours before an event starts that its approved participants get a reminder (email and in-app).",
    )
    meeting_reminder_minutes: int = Field(
        default=60, ge=1,
        description="Minutes before a meeting (a published event meeting or a confirmed meeting outside events) that "
        "both sides get a reminder.",
    )
    timetable_time_limit_seconds: float = Field(
        default=10.0, gt=0, le=120,
        description="Seconds the timetable solver may search when an organizer runs an event's timetable (the "
                    "organizer's page waits for it; seminar-sized events take well under a second).")
    # == capacity: request threads, overload, database pool, shutdown ==
    workers: int = Field(
        default=1, ge=1, le=64,
        description="Server processes `matchmaker serve` starts. One Python process serves pages on about one core; "
        "on a machine with several cores, one per core serves that many times more at once. Each process has its "
        "own request threads, database connections (request_threads plus a few each) and match index (memory and "
        "index builds count once per process); the scheduled jobs run in one of them (a lock file in the data "
        "folder chooses it, per machine: with several machines, run them in `matchmaker worker` instead).",
    )
    request_threads: int = Field(
        default=4, ge=1,
        description="Requests handled at once per process: the worker threads for page code, the requests let in at "
        "once, and (plus a few for jobs) the database connections each process keeps. Requests beyond it wait in a "
        "short first-come queue. Page code is CPU-bound Python under one lock per process (the GIL): a few threads "
        "keep the core busy, more only share it, so a request holding SQLite's write turn runs slower.",
    )
    request_queue_seconds: float = Field(
        default=2.0, ge=0,
        description="Longest wait of a request for a free slot when all are busy; then it gets 503 with Retry-After.",
    )
    request_queue_size: int = Field(
        default=200, ge=0,
        description="Requests allowed to wait for a slot at once; more get 503 with Retry-After at once.",
    )
    database_pool_timeout: float = Field(
        default=5.0, gt=0,
        description="Seconds a request waits for a database connection before it gets 503 (should not happen: the "
        "pool is sized to the threads).",
    )
    blas_threads: int = Field(
        default=1, ge=1,
        description="Threads the linear-algebra library (BLAS) uses per matching query, set once at start-up; 1 keeps "
        "concurrent requests from fighting over the cores.",
    )
    shutdown_timeout: float = Field(
        default=10.0, ge=0,
        description="Seconds `matchmaker serve` lets running requests and jobs finish after SIGTERM before it stops "
        "them.",
    )
    # == pages ==
    templates_auto_reload: bool = Field(
        default=False,
        description="Check template files for changes on every render (development). Off, each template is read "
        "and compiled once per process: the check costs a file-system call per included template.",
    )
    # == technology catalogue ==
    technology_image_max_mb: float = Field(
        default=5.0, gt=0, le=50,
        description="Largest technology image accepted for upload, in megabytes (JPEG, PNG or WebP; stored "
        "re-encoded as JPEG of at most 1,600 pixels a side).",
    )

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        """Defaults that live in the data folder."""
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_path / 'matchmaker.db'}"
        return self

    @property
    def data_path(self) -> Path:
        """The data folder (MATCHMAKER_DATA_DIR, else var/ of the project)."""
        return Path(self.data_dir).expanduser() if self.data_dir else PROJECT_ROOT / "var"

    @property
    def index_path(self) -> Path | None:
        """Where whole match indexes are kept (MATCHMAKER_INDEX_DIR, else match-index/ in the data folder); None:
        off."""
        if self.index_dir.strip().lower() == "off":
            return None
        return Path(self.index_dir).expanduser() if self.index_dir else self.data_path / "match-index"

    @property
    def imports_path(self) -> Path:
        """Where uploaded import files wait for the organizer's confirmation."""
        return self.data_path / "imports"

    @property
    def model_cache_path(self) -> str:
        """Folder for derived model files: MATCHMAKER_MODEL_CACHE_DIR, else models/ in a data folder that was set;
        "" lets the engine choose (var/models/ of the project if writable, else the user's cache folder)."""
        return self.model_cache_dir or (str(self.data_path / "models") if self.data_dir else "")
