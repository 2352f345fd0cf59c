//! Did-you-mean suggestions: the closest candidate by edit distance, if close enough.

/// Edit distance between two strings, by characters: insertions, deletions,
/// substitutions, and swaps of two adjacent characters each count as one edit
/// (optimal string alignment), since `prots` for `ports` is the commonest typo.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Three rows of the dynamic-programming table: two back, one back, current.
    let mut prev2 = vec![0usize; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur = vec![0usize; width];
    for (i, ca) in a.iter().enumerate() {
        let row = |v: &Vec<usize>, j: usize| v.get(j).copied().unwrap_or(usize::MAX / 2);
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let mut best = (row(&prev, j) + usize::from(ca != cb))
                .min(row(&prev, j + 1) + 1)
                .min(row(&cur, j) + 1);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca);
            if swapped {
                best = best.min(row(&prev2, j - 1) + 1);
            }
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = best;
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The candidate closest to `word`, when it is within a third of the word's length
/// (at least 1, at most 3 edits) or differs only in letter case.
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| {
            let d = if c.eq_ignore_ascii_case(word) {
                0
            } else {
                edit_distance(word, c)
            };
            (d, c)
        })
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("selector", "selectr"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("prots", "ports"), 1);
        assert_eq!(edit_distance("spce", "spec"), 1);
        assert_eq!(edit_distance("abc", "cba"), 2);
    }

    #[test]
    fn suggestions() {
        let fields = ["selector", "namespaceSelector", "notSelector", "ports"];
        assert_eq!(did_you_mean("selectr", fields), Some("selector"));
        assert_eq!(did_you_mean("Ports", fields), Some("ports"));
        assert_eq!(did_you_mean("zzz", fields), None);
        assert_eq!(did_you_mean("prots", fields), Some("ports"));
        assert_eq!(did_you_mean("spce", ["spec", "metadata"]), Some("spec"));
    }
}
