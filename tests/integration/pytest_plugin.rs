//! The pytest plugin (`integrations/pytest`) against this binary: its own suite records an
//! example project from moto through the plugin, then replays it the ways pytest runs tests
//! (one process, a subset reversed, xdist workers, a running proxy) and checks the usage errors.
//!
//! Needs the Python environment made by `.ci/setup-python` (pytest and pytest-xdist are pinned in
//! `tests/interop/requirements.txt`). The plugin is not installed there: its suite puts
//! `integrations/pytest/src` on the path itself and loads it with `-p pytest_cognito_vcr`.

use crate::interop::{aws_env, python, repo};
use crate::support::workdir;
use std::process::Command;

#[test]
fn the_pytest_plugin_suite_passes() {
    let dir = workdir();
    let basetemp = format!("--basetemp={}", dir.path().join("pytest").display());
    let out = aws_env(&mut Command::new(python()))
        .args(["-m", "pytest", "integrations/pytest/tests", "-q"])
        .args(["-p", "no:cacheprovider", &basetemp])
        .current_dir(repo())
        .env("COGNITO_VCR_BIN", env!("CARGO_BIN_EXE_cognito-vcr"))
        .env_remove("PYTEST_ADDOPTS")
        .env_remove("COGNITO_VCR_URL")
        // The same on a laptop as in CI (its tests of CI=true set it themselves).
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the pytest plugin's suite failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
