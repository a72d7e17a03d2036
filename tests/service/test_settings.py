from pathlib import Path

import pytest

from service.settings import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`HALTUNG_{name.upper()}`" not in readme]
    assert missing == []


def test_settings_come_from_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALTUNG_MAX_DOCUMENTS", "7")
    monkeypatch.setenv("HALTUNG_API_KEYS", " a-key , other ,, ")
    settings = Settings()
    assert settings.max_documents == 7
    assert settings.keys == ("a-key", "other")


def test_invalid_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALTUNG_PORT", "0")
    with pytest.raises(ValueError, match="port"):
        Settings()
