//! Words the commands print: counts with their noun, sizes in binary units.

/// "1 change", "2 changes", "0 links".
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A size in bytes as people read it: "512 B", "64 MiB", "1.5 GiB" (IEC units, as the file's
/// "64M" means 64 MiB).
pub fn size(bytes: u64) -> String {
    crate::model::limits::size_text(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_plural_but_for_one() {
        assert_eq!(plural(0, "link"), "0 links");
        assert_eq!(plural(1, "link"), "1 link");
        assert_eq!(plural(1, "change"), "1 change");
        assert_eq!(plural(2, "link"), "2 links");
    }
}
