//! The Node.js helper (`integrations/node`): its `node:test` suite, with the AWS SDK for
//! JavaScript v3 recording from moto and replaying offline, and the Jest, Vitest and node:test
//! wiring run by those frameworks, against this build's binary.
//!
//! Needs Node.js 20.19+ and the helper's dev dependencies (`.ci/setup-node`, run by `bash
//! .ci/test`), and moto's Python environment (see `interop.rs`).

use crate::interop::{aws_env, python, repo};
use std::process::Command;

#[test]
fn the_node_helper_suite_passes_against_this_binary() {
    let dir = repo().join("integrations/node");
    for needed in [
        "node_modules/@aws-sdk/client-cognito-identity-provider",
        "node_modules/.bin/jest",
        "node_modules/.bin/vitest",
    ] {
        assert!(
            dir.join(needed).exists(),
            "{} is not installed: run `bash .ci/test` (or `.ci/setup-node`) once",
            dir.join(needed).display()
        );
    }
    let mut cmd = Command::new("node");
    cmd.args(["--test", "test/"])
        .current_dir(dir)
        .env("COGNITO_VCR_BIN", env!("CARGO_BIN_EXE_cognito-vcr"))
        .env("COGNITO_VCR_PYTHON", python())
        .env_remove("COGNITO_VCR_URL")
        // The same on a laptop as in CI (its tests of CI=true set it themselves).
        .env_remove("CI");
    let out = aws_env(&mut cmd)
        .output()
        .expect("`node` could not be started: the Node.js helper's tests need Node.js 20 or later");
    assert!(
        out.status.success(),
        "node --test test/ failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
