//! Golden files: a text compared with one committed under `tests/integration/golden/`, a
//! readable line diff when they differ, and `UPDATE_GOLDEN=1` to write the text as the new
//! golden file instead.

use std::path::{Path, PathBuf};

/// Set to `1` to rewrite the golden files with what the tests produce.
const UPDATE: &str = "UPDATE_GOLDEN";

/// Lines of context around each change in a diff.
const CONTEXT: usize = 3;

/// Diff lines shown at most.
const MAX_SHOWN: usize = 200;

/// The golden file `name` (under `tests/integration/golden/`).
pub fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/integration/golden")
        .join(name)
}

/// `actual` is the golden file `name`, or the test fails with a line diff (golden first); with
/// `UPDATE_GOLDEN=1`, `actual` becomes the golden file.
pub fn check(name: &str, actual: &str) {
    let file = path(name);
    if std::env::var(UPDATE).is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, actual).unwrap();
        eprintln!("wrote {}", file.display());
        return;
    }
    let expected = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; `{UPDATE}=1 cargo test` writes it", file.display()));
    if expected != actual {
        panic!(
            "{} differs from what the test produced (- golden, + now); if the change is \
             intended, rerun with {UPDATE}=1 and review the file's diff:\n{}",
            file.display(),
            line_diff(&expected, actual)
        );
    }
}

/// The lines that differ between `old` and `new` (`-` old, `+` new), with [`CONTEXT`] lines
/// around each change and the line numbers of each hunk.
pub fn line_diff(old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    // The longest common subsequence over what lies between the common head and tail.
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut lcs = vec![vec![0u32; bm.len() + 1]; am.len() + 1];
    for i in (0..am.len()).rev() {
        for j in (0..bm.len()).rev() {
            lcs[i][j] = if am[i] == bm[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Every line as (kind, old number, new number, text): ' ' kept, '-' removed, '+' added.
    let mut ops: Vec<(char, usize, usize, &str)> = (0..head).map(|i| (' ', i, i, a[i])).collect();
    let (mut i, mut j) = (0, 0);
    while i < am.len() || j < bm.len() {
        let (oi, nj) = (head + i, head + j);
        if i < am.len() && j < bm.len() && am[i] == bm[j] {
            ops.push((' ', oi, nj, am[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < am.len() && (j == bm.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', oi, nj, am[i]));
            i += 1;
        } else {
            ops.push(('+', oi, nj, bm[j]));
            j += 1;
        }
    }
    let (ta, tb) = (a.len() - tail, b.len() - tail);
    ops.extend((0..tail).map(|k| (' ', ta + k, tb + k, a[ta + k])));

    let changed: Vec<usize> = (0..ops.len()).filter(|&k| ops[k].0 != ' ').collect();
    let mut out = String::new();
    let mut shown = 0;
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        // A hunk runs on while the next change is within two contexts of the last.
        let mut end = changed[k];
        while k + 1 < changed.len() && changed[k + 1] <= end + 2 * CONTEXT + 1 {
            k += 1;
            end = changed[k];
        }
        let end = (end + CONTEXT + 1).min(ops.len());
        let (_, old_line, new_line, _) = ops[start];
        out.push_str(&format!(
            "@@ golden line {} / now line {} @@\n",
            old_line + 1,
            new_line + 1
        ));
        for (kind, _, _, text) in &ops[start..end] {
            if shown == MAX_SHOWN {
                out.push_str(&format!("... ({} changed lines in all)\n", changed.len()));
                return out;
            }
            out.push_str(&format!("{kind}{text}\n"));
            shown += 1;
        }
        k += 1;
    }
    out
}

#[test]
fn a_diff_shows_each_change_with_its_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
    let new = "a\nb\nC\nd\ne\nf\ng\nh\ni\nj\nk\nl\n";
    assert_eq!(
        line_diff(old, new),
        "@@ golden line 1 / now line 1 @@\n a\n b\n-c\n+C\n d\n e\n f\n\
         @@ golden line 9 / now line 9 @@\n i\n j\n k\n+l\n"
    );
    assert_eq!(line_diff(old, old), "");
}
