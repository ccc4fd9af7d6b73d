"""Write docs/settings.md from the Settings class (run after adding a setting)."""

from pathlib import Path

from web.settings import PROJECT_ROOT, Settings

HEADER = """# Settings

Every setting is read from an environment variable with the `MATCHMAKER_` prefix (pydantic-settings).
Generated from `web/settings.py` by `.venv/bin/python scripts/settings_doc.py`; a test fails when a
setting is missing here.

| variable | default | meaning |
|---|---|---|
"""


def main() -> None:
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if name == "database_url":
            default = "sqlite:///<project>/var/matchmaker.db"
        shown = f"`{default}`" if default not in ("", None) else "(empty)"
        rows.append(f"| `MATCHMAKER_{name.upper()}` | {shown} | {field.description} |")
    Path(PROJECT_ROOT / "docs" / "settings.md").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
