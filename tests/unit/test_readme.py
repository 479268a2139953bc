"""README's configuration table is the one generated from config.SETTINGS."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import config_table  # noqa: E402


def test_readme_configuration_table_matches_the_settings():
    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- config-table:start -->") + len(
        "<!-- config-table:start -->"
    )
    end = readme.index("<!-- config-table:end -->")

    assert readme[start:end].strip() == config_table.table()


def test_every_var_has_a_line_in_wrangler_toml():
    import tomllib

    from config import SETTINGS

    declared = tomllib.loads((ROOT / "wrangler.toml").read_text())["vars"]
    vars_ = {s.name for s in SETTINGS if not s.secret}
    secrets = {s.name for s in SETTINGS if s.secret}

    assert set(declared) == vars_
    assert not secrets & set(declared)
