"""Write docs/settings.md from the Settings class (run after adding a setting)."""

from pathlib import Path

from web.settings import PROJECT_ROOT, Settings

HEADER = """# Settings

Every setting is read from an environment variable with the `MATCHMAKER_` prefix (pydantic-settings).
Generated from `web/settings.py` by `.venv/bin/python scripts/settings_doc.py`; a test fails when this
file is not what that script writes.

| variable | default | meaning |
|---|---|---|
"""


DOC = PROJECT_ROOT / "docs" / "settings.md"


def render() -> str:
    """The text of docs/settings.md for the settings as they are."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = f"`{default}`" if default not in ("", None) else "(empty)"
        rows.append(f"| `MATCHMAKER_{name.upper()}` | {shown} | {field.description} |")
    return HEADER + "\n".join(rows) + "\n"


def main() -> None:
    Path(DOC).write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
