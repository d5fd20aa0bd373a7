"""A small boto3 test suite, run the ways real test runners run one.

Four tests against the pool seed.py made: a full ListUsers listing (paginator, PageSize 7), a
MaxItems=10 listing resumed from its NextToken, the editors group's listing (PageSize 10), and
list / create / list / delete / list of one user (a test that changes state). Each prints what
it saw, as JSON, so that a live run and a replay can be compared.

  suite.py URL POOL run TEST...                   the tests in this order, one after another
  suite.py URL POOL threads N TEST                TEST from N threads at once
  suite.py URL POOL scoped RUNS TEST SCOPE...     TEST in each scope (URL/scope/SCOPE), one
                                                  thread per scope, RUNS times each; the scope is
                                                  reset (POST URL/scope/SCOPE/reset) after a run

Prints one JSON document: `run` a list of [TEST, result], `threads` a list of results,
`scoped` {SCOPE: [result, ...]}.
"""

import json
import os
import sys
import threading
import urllib.request

TESTS = ("full_listing", "resume", "group_listing", "mutation")


def client(endpoint_url):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "fakesecret")
    import boto3
    from botocore.config import Config

    # A session per client: boto3's default session is not for threads.
    return boto3.session.Session().client(
        "cognito-idp",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def usernames(pages, key="Users"):
    return [u["Username"] for page in pages for u in page.get(key, [])]


def full_listing(c, pool):
    pages = c.get_paginator("list_users").paginate(
        UserPoolId=pool, PaginationConfig={"PageSize": 7}
    )
    return usernames(pages)


def resume(c, pool):
    paginator = c.get_paginator("list_users")
    first = paginator.paginate(
        UserPoolId=pool, PaginationConfig={"PageSize": 7, "MaxItems": 10}
    ).build_full_result()
    rest = paginator.paginate(
        UserPoolId=pool,
        PaginationConfig={"PageSize": 7, "StartingToken": first["NextToken"]},
    ).build_full_result()
    return {
        "first": [u["Username"] for u in first["Users"]],
        "rest": [u["Username"] for u in rest["Users"]],
    }


def group_listing(c, pool):
    pages = c.get_paginator("list_users_in_group").paginate(
        UserPoolId=pool, GroupName="editors", PaginationConfig={"PageSize": 10}
    )
    return usernames(pages)


def mutation(c, pool):
    def named():
        found = c.list_users(UserPoolId=pool, Filter='username = "newcomer"')
        return [u["Username"] for u in found["Users"]]

    seen = [named()]
    c.admin_create_user(UserPoolId=pool, Username="newcomer", MessageAction="SUPPRESS")
    seen.append(named())
    c.admin_delete_user(UserPoolId=pool, Username="newcomer")
    seen.append(named())
    return seen


def run_test(endpoint_url, pool, test):
    if test not in TESTS:
        raise SystemExit(f"suite.py: no test {test!r} (tests: {', '.join(TESTS)})")
    return globals()[test](client(endpoint_url), pool)


def in_threads(jobs):
    """Run the callables at once; their results in order (an error in one is raised)."""
    results, errors = [None] * len(jobs), []

    def work(i, job):
        try:
            results[i] = job()
        except Exception as err:  # reported below, with the others' results discarded
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def reset(scope_url):
    request = urllib.request.Request(scope_url + "/reset", data=b"", method="POST")
    with urllib.request.urlopen(request) as answer:
        if answer.status != 200:
            raise SystemExit(f"suite.py: reset of {scope_url} answered {answer.status}")


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    url, pool, command, args = argv[0], argv[1], argv[2], argv[3:]
    if command == "run":
        out = [[test, run_test(url, pool, test)] for test in args]
    elif command == "threads":
        n, test = int(args[0]), args[1]
        out = in_threads([lambda: run_test(url, pool, test)] * n)
    elif command == "scoped":
        runs, test, scopes = int(args[0]), args[1], args[2:]

        def scope_job(scope):
            scope_url = f"{url}/scope/{scope}"

            def job():
                seen = []
                for _ in range(runs):
                    seen.append(run_test(scope_url, pool, test))
                    reset(scope_url)
                return seen

            return job

        out = dict(zip(scopes, in_threads([scope_job(s) for s in scopes])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
