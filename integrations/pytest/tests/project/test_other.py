"""Tests whose cassette a marker chooses: the module's, and one test's own."""

import pytest

pytestmark = pytest.mark.cognito_vcr(cassette="other/module.json")


def test_in_the_module_cassette(cognito_vcr):
    assert cognito_vcr.cassette.name == "module.json"
    client = cognito_vcr.client()
    pool = client.create_user_pool(PoolName="module")["UserPool"]["Id"]
    assert client.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == "module"


@pytest.mark.cognito_vcr(cassette="other/function.json")
def test_in_its_own_cassette(cognito_vcr):
    assert cognito_vcr.cassette.name == "function.json"
    client = cognito_vcr.client()
    pool = client.create_user_pool(PoolName="function")["UserPool"]["Id"]
    assert client.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == "function"
