"""The `outpost` command, through typer's test runner."""

import re

import pytest
from typer.testing import CliRunner

from outpost.cli import app
from outpost.data.api_keys import ApiKeyRepository
from outpost.data.tables import API_KEYS, TENANTS, provision_table
from outpost.models.api_key import hash_api_key
from outpost.services.bootstrap import OPERATOR_TENANT_ID
from tests.unit.conftest import Store

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "local" in result.output
    assert "bootstrap-admin" in result.output


def test_bootstrap_admin_installs_a_key_in_the_named_environment(store: Store) -> None:
    for spec in (TENANTS, API_KEYS):
        provision_table(store.client, spec, spec.table_name("dev"))
    result = runner.invoke(app, ["bootstrap-admin", "--env", "dev"])
    assert result.exit_code == 0, result.output
    (key,) = re.findall(r"op_live_[0-9a-f]{32}", result.output)
    stored = ApiKeyRepository(store.client, API_KEYS.table_name("dev")).get(hash_api_key(key))
    assert stored is not None
    assert stored.tenant_id == OPERATOR_TENANT_ID


@pytest.mark.parametrize("bad", ["op_test_" + "a" * 32, "nonsense"])
def test_local_refuses_a_bad_admin_key_before_starting(bad: str) -> None:
    result = runner.invoke(app, ["local", "--port", "0"], env={"OUTPOST_ADMIN_KEY": bad})
    assert result.exit_code == 2
    assert "admin key" in result.output
