"""Application settings, read from MATCHMAKER_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """Every tunable of the platform; documented in docs/settings.md."""

    model_config = SettingsConfigDict(env_prefix="MATCHMAKER_", env_file=None, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'matchmaker.db'}",
        description="SQLAlchemy URL of the database (SQLite file or postgresql+psycopg://...).",
    )
    secret_key: str = Field(
        default="",
        description="Key that signs session cookies and tokens. Empty: a random key is made per process (development only).",
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
    embedding_model: str = Field(
        default="",
        description="Sentence-transformers model: a folder path or an installed package name. Empty: the bundled all-MiniLM-L6-v2. "
        "`hashing` (or `hashing:DIM`) is a tiny deterministic word-hashing embedder for tests and development only.",
    )
    embedding_interval_seconds: int = Field(
        default=30, description="Seconds between runs of the job that embeds new and changed profiles.",
    )
    matching_min_feedback: int = Field(
        default=30,
        description="Answered meeting requests needed before weights learned from them replace the default matching weights.",
    )
    embedding_precision: str = Field(
        default="auto",
        description="How the model runs on CPU: auto (fastest configuration that keeps the vectors: ONNX Runtime float32 on AVX2, bfloat16 where the CPU has it), fp32 (plain torch), bfloat16, onnx-fp32.",
    )
    model_cache_dir: str = Field(
        default="",
        description="Folder for files derived from the model (the ONNX export). Empty: var/models/ of the project.",
    )
    session_max_age: int = Field(default=14 * 24 * 3600, description="Seconds a login lasts.")
    secure_cookies: bool = Field(default=False, description="Send cookies only over HTTPS (set in production).")
    login_max_failures: int = Field(default=5, description="Failed logins allowed per email or address in the window.")
    login_window_seconds: int = Field(default=900, description="Window in which failed logins are counted.")
    password_reset_hours: int = Field(default=2, description="Hours a password reset link stays valid.")
    run_scheduler: bool = Field(default=True, description="Run scheduled jobs inside the web process (single-process deployments).")
    request_expiry_days: int = Field(default=14, description="Days a meeting request stays pending before it expires.")
    page_size: int = Field(default=20, description="Rows per page in lists such as the directory.")
    # == capacity: request threads, overload, database pool, shutdown ==
    request_threads: int = Field(
        default=16, ge=1,
        description="Requests handled at once: the worker threads for page code, the requests let in at once, and "
        "(plus a few for jobs) the database connections each process keeps. Requests beyond it wait in a short queue.",
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
        description="Seconds a request waits for a database connection before it gets 503 (should not happen: the pool is sized to the threads).",
    )
    blas_threads: int = Field(
        default=1, ge=1,
        description="Threads the linear-algebra library (BLAS) uses per matching query, set once at start-up; 1 keeps "
        "concurrent requests from fighting over the cores.",
    )
    shutdown_timeout: float = Field(
        default=10.0, ge=0,
        description="Seconds `matchmaker serve` lets running requests and jobs finish after SIGTERM before it stops them.",
    )
