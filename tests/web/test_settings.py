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


def test_settings_doc_is_what_the_script_writes():
    import runpy

    render = runpy.run_path(str(DOC.parents[1] / "scripts" / "settings_doc.py"))["render"]
    assert DOC.read_text(encoding="utf-8") == render(), "run .venv/bin/python scripts/settings_doc.py"


def test_every_setting_has_a_description():
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_runtime_files_live_under_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("MATCHMAKER_DATABASE_URL", raising=False)
    monkeypatch.delenv("MATCHMAKER_MODEL_CACHE_DIR", raising=False)
    monkeypatch.setenv("MATCHMAKER_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'matchmaker.db'}"
    assert settings.imports_path == tmp_path / "data" / "imports"
    assert settings.model_cache_path == str(tmp_path / "data" / "models")
    monkeypatch.setenv("MATCHMAKER_DATABASE_URL", "postgresql+psycopg://db/matchmaker")
    assert Settings().database_url == "postgresql+psycopg://db/matchmaker"  # an explicit URL wins


def test_without_a_data_folder_runtime_files_go_to_var(monkeypatch):
    monkeypatch.delenv("MATCHMAKER_DATA_DIR", raising=False)
    monkeypatch.delenv("MATCHMAKER_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.database_url.endswith("/var/matchmaker.db") and settings.imports_path.name == "imports"
    assert settings.model_cache_path == ""  # the engine picks var/models/ or the user's cache folder
