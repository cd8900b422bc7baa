//! Naming a check's capture file: the check's name made safe for any filesystem, and unique
//! among the files of one run.

use std::collections::BTreeSet;

/// The longest stem a file gets, leaving room for a suffix and the extension under 255 bytes.
const MAX_STEM: usize = 100;

/// `name` with only `A-Z a-z 0-9 . _ -` kept (anything else becomes `_`), no leading dot, at
/// most 100 bytes; `check` when nothing is left.
pub fn safe_stem(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    s.truncate(MAX_STEM);
    let s = s.trim_start_matches('.').to_string();
    if s.chars().all(|c| c == '_') {
        return "check".to_string();
    }
    s
}

/// File names (`STEM.pcapng`) for `names`, in order, each unique: a name whose safe stem is
/// taken already gets `-2`, `-3`, ...
pub fn file_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = BTreeSet::new();
    names
        .into_iter()
        .map(|n| {
            let stem = safe_stem(n);
            let mut candidate = stem.clone();
            let mut i = 2;
            while !taken.insert(candidate.to_ascii_lowercase()) {
                candidate = format!("{stem}-{i}");
                i += 1;
            }
            format!("{candidate}.pcapng")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_become_underscores() {
        assert_eq!(safe_stem("h1 ping 10.0.0.2"), "h1_ping_10.0.0.2");
        assert_eq!(safe_stem("a/b\\c:d*e?f\"g<h>i|j"), "a_b_c_d_e_f_g_h_i_j");
        assert_eq!(safe_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_stem("..."), "check");
        assert_eq!(safe_stem(""), "check");
        assert_eq!(safe_stem("//"), "check");
        assert_eq!(safe_stem("héllo"), "h_llo");
        assert_eq!(safe_stem(&"x".repeat(300)).len(), 100);
    }

    #[test]
    fn names_are_unique_in_one_run() {
        let names = file_names(["a b", "a/b", "a_b", "c", "A_B"]);
        assert_eq!(names, ["a_b.pcapng", "a_b-2.pcapng", "a_b-3.pcapng", "c.pcapng", "A_B-4.pcapng"]);
    }
}
