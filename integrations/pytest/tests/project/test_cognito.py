"""The example project's tests (copied into a temporary directory by the plugin's own tests, then
recorded against moto and replayed). Each test makes its own pool, so it needs nothing from
another test and replays alone, in any order, in any worker."""

import os

import boto3
import pytest
from botocore.exceptions import ClientError


def new_pool(client, name, users=()):
    pool = client.create_user_pool(PoolName=name)["UserPool"]["Id"]
    for user in users:
        client.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
    return pool


def usernames(client, pool):
    return sorted(u["Username"] for u in client.list_users(UserPoolId=pool)["Users"])


def test_created_users_are_found(cognito_vcr):
    client = cognito_vcr.client()
    pool = new_pool(client, "created", ["alice", "bob"])
    assert client.admin_get_user(UserPoolId=pool, Username="bob")["Username"] == "bob"


def test_listing_paginated_by_two(cognito_vcr):
    client = cognito_vcr.client()
    pool = new_pool(client, "paged", ["u1", "u2", "u3", "u4", "u5"])
    pages = list(
        client.get_paginator("list_users").paginate(
            UserPoolId=pool, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["Users"]) for page in pages] == [2, 2, 1]
    assert sorted(u["Username"] for page in pages for u in page["Users"]) == [
        "u1", "u2", "u3", "u4", "u5"
    ]


def test_list_create_list(cognito_vcr):
    # The same ListUsers request twice with different answers: replayed in order, from the
    # start each time the test starts (the fixture resets the scope).
    client = cognito_vcr.client()
    pool = new_pool(client, "sequence", ["first"])
    assert usernames(client, pool) == ["first"]
    client.admin_create_user(UserPoolId=pool, Username="second", MessageAction="SUPPRESS")
    assert usernames(client, pool) == ["first", "second"]


def test_missing_user_is_an_error(cognito_vcr):
    client = cognito_vcr.client()
    pool = new_pool(client, "empty")
    with pytest.raises(ClientError) as raised:
        client.admin_get_user(UserPoolId=pool, Username="nobody")
    assert raised.value.response["Error"]["Code"] == "UserNotFoundException"


def test_a_plain_boto3_client_goes_through_the_proxy(cognito_vcr):
    # No endpoint, credentials or region given: all from the environment the fixture set.
    assert os.environ["AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"] == cognito_vcr.endpoint_url
    assert cognito_vcr.endpoint_url.endswith("/scope/" + cognito_vcr.scope)
    client = boto3.client("cognito-idp")
    pool = new_pool(client, "plain")
    assert client.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == "plain"


# Two ids that are alike once made scope names ("a b" and "a_b" both give "a_b"), and one past
# 128 characters: each still gets a scope of its own, so each replays its own sequence.
@pytest.mark.parametrize("suffix", ["a b", "a_b", "long" * 40])
def test_scopes_of_alike_names_stay_apart(cognito_vcr, suffix):
    client = cognito_vcr.client()
    pool = new_pool(client, "alike-" + suffix[:20])
    assert usernames(client, pool) == []
    client.admin_create_user(UserPoolId=pool, Username="x-" + suffix[:20].replace(" ", "-"),
                             MessageAction="SUPPRESS")
    assert usernames(client, pool) == ["x-" + suffix[:20].replace(" ", "-")]
