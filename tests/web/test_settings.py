"""Settings: MATCHMAKER_ prefix, and every setting documented in docs/settings.md."""

from pathlib import Path

from web.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_settings_read_prefixed_environment(monkeypatch):
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("MATCHMAKER_SMTP_PORT", "2525")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.db"
    assert settings.smtp_port == 2525


def test_every_setting_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"MATCHMAKER_{name.upper()}" not in text]
    assert missing == []


def test_every_setting_has_a_description():
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []
