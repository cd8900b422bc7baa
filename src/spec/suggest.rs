//! "did you mean ...": the word of a known set closest to a misspelt one.

/// The candidate closest to `word`, when it is close enough to be a typo of it: at most one
/// edit (a transposition counts as one) per three characters. A word shorter than three
/// characters is too short to guess from.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let most = word.chars().count() / 3;
    candidates
        .into_iter()
        .filter(|c| *c != word && c.chars().count() >= 3)
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `did you mean 'X'? ` for a hint, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(word, candidates).map(|c| format!("did you mean '{c}'? ")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        let keys = ["name", "prefix", "nodes", "links", "check"];
        assert_eq!(closest("nmae", keys), Some("name"));
        assert_eq!(closest("link", keys), Some("links"));
        assert_eq!(closest("Nodes", keys), Some("nodes"));
        assert_eq!(closest("checks", keys), Some("check"));
        assert_eq!(closest("defualt", ["default"]), Some("default"));
        assert_eq!(closest("gw", ["to", "via", "dev", "metric"]), None);
        assert_eq!(closest("c", ["a", "b"]), None);
        assert_eq!(closest("router", ["netns", "host", "switch"]), None);
        assert_eq!(closest("swtich", ["netns", "host", "switch"]), Some("switch"));
        assert_eq!(did_you_mean("weigth", ["via", "dev", "weight"]), "did you mean 'weight'? ");
    }
}
