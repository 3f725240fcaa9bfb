//! Nicknames a host can trust on a projector: generated ones ("Brave Otter")
//! and a word filter for chosen ones.
//!
//! The filter normalises a nickname before matching: lower case, common
//! leetspeak read as letters (`0`→o, `1`/`!`/`|`→i, `3`→e, `4`/`@`→a,
//! `5`/`$`→s, `7`/`+`→t, `8`→b, `9`→g), every other non-letter a
//! separator, and a listed letter may be repeated (`fuuuck`; a doubled
//! letter needs at least two: `ass` is not found in "as"). A listed word
//! matches anywhere in the nickname with its separators removed (`F.U.C.K`),
//! or, for words written `=word` (short words inside innocent ones: `ass` in
//! "classic"), only as a whole word. No list stops a determined human (the
//! host can still remove or ban); it stops the obvious cases a bot or a
//! bored class tries first.

use rand::seq::IndexedRandom;
use rand::Rng;

/// The built-in list. `=` marks whole-word-only entries.
const BUILTIN: &[&str] = &[
    "fuck", "shit", "cunt", "bitch", "nigger", "nigga", "faggot", "=fag", "slut", "whore", "=dick",
    "=cock", "pussy", "penis", "=rape", "rapist", "nazi", "hitler", "porn", "wank", "twat", "=ass",
    "asshole", "bastard", "retard", "=kike", "=chink", "=spic", "=tits", "=cum", "=sex", "dildo",
    "=anal", "=jizz", "=piss", "=homo", "=tranny",
];

/// One listed word, normalised, as runs: `(letter, times)`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    word: Vec<(char, usize)>,
    whole_word: bool,
}

/// The nickname word filter: the built-in list plus the operator's words
/// (`LIVE_NICKNAME_BLOCKLIST`, `LIVE_NICKNAME_BLOCKLIST_FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicknameFilter {
    entries: Vec<Entry>,
}

impl Default for NicknameFilter {
    fn default() -> Self {
        NicknameFilter::new(&[])
    }
}

/// Reads a character as the letter it stands for; `None` for a separator.
fn letter(c: char) -> Option<char> {
    let c = c.to_lowercase().next().unwrap_or(c);
    Some(match c {
        '0' => 'o',
        '1' | '!' | '|' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' | '+' => 't',
        '8' => 'b',
        '9' => 'g',
        c if c.is_alphabetic() => c,
        _ => return None,
    })
}

/// The words of a nickname, as letters.
fn words(text: &str) -> Vec<Vec<char>> {
    let mut out = vec![Vec::new()];
    for c in text.chars() {
        match letter(c) {
            Some(l) => out.last_mut().expect("never empty").push(l),
            None if out.last().is_some_and(|w| !w.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|w| !w.is_empty());
    out
}

/// Whether `text[from..]` starts with `word`, each of whose runs may be
/// longer in `text`; the end of the match.
fn match_at(text: &[char], from: usize, word: &[(char, usize)]) -> Option<usize> {
    let mut i = from;
    for &(c, times) in word {
        let start = i;
        while text.get(i) == Some(&c) {
            i += 1;
        }
        if i - start < times {
            return None;
        }
    }
    Some(i)
}

/// Letters as runs: "ass" -> `[(a, 1), (s, 2)]`.
fn runs(letters: &[char]) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::new();
    for &c in letters {
        match out.last_mut() {
            Some((last, n)) if *last == c => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

impl NicknameFilter {
    /// The built-in list plus `extra` words (`=word`: whole words only).
    pub fn new(extra: &[String]) -> Self {
        let entries = BUILTIN
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .filter_map(|raw| {
                let raw = raw.trim();
                let (whole_word, raw) = match raw.strip_prefix('=') {
                    Some(rest) => (true, rest),
                    None => (false, raw),
                };
                let word = runs(&words(raw).concat());
                (!word.is_empty()).then_some(Entry { word, whole_word })
            })
            .collect();
        NicknameFilter { entries }
    }

    /// Whether `nickname` contains a listed word.
    pub fn blocks(&self, nickname: &str) -> bool {
        let tokens = words(nickname);
        let compact: Vec<char> = tokens.concat();
        self.entries.iter().any(|e| {
            if e.whole_word {
                let whole = |t: &[char]| match_at(t, 0, &e.word) == Some(t.len());
                tokens.iter().any(|t| whole(t)) || whole(&compact)
            } else {
                (0..compact.len()).any(|i| match_at(&compact, i, &e.word).is_some())
            }
        })
    }
}

const ADJECTIVES: &[&str] = &[
    "Brave", "Calm", "Clever", "Cosmic", "Curious", "Daring", "Eager", "Fancy", "Gentle", "Happy",
    "Jolly", "Kind", "Lively", "Lucky", "Merry", "Mighty", "Nimble", "Polite", "Proud", "Quick",
    "Quiet", "Rapid", "Shiny", "Silly", "Sleepy", "Sunny", "Swift", "Tidy", "Witty", "Zesty",
    "Bold", "Bright",
];

const ANIMALS: &[&str] = &[
    "Otter", "Panda", "Koala", "Falcon", "Badger", "Beaver", "Bison", "Camel", "Dolphin", "Eagle",
    "Ferret", "Gecko", "Heron", "Ibis", "Jaguar", "Lemur", "Lynx", "Marmot", "Narwhal", "Ocelot",
    "Owl", "Penguin", "Puffin", "Quokka", "Rabbit", "Seal", "Tapir", "Toucan", "Walrus", "Wombat",
    "Yak", "Zebra",
];

/// A friendly random nickname `refused` does not refuse (taken in the
/// session, or caught by the word filter: digits read as letters): "Brave
/// Otter", or with a number once the plain names run short ("Brave Otter
/// 417"), drawn with `rng`.
pub fn generate(rng: &mut impl Rng, refused: impl Fn(&str) -> bool) -> String {
    let pick = |rng: &mut _| {
        let a = ADJECTIVES.choose(rng).copied().unwrap_or("Happy");
        let b = ANIMALS.choose(rng).copied().unwrap_or("Otter");
        format!("{a} {b}")
    };
    for _ in 0..16 {
        let name = pick(rng);
        if !refused(&name) {
            return name;
        }
    }
    // 1,024 plain names; with numbers up to 100,000 each, a free one turns
    // up within a few tries even in a 10,000-player session.
    loop {
        let name = format!("{} {}", pick(rng), rng.random_range(2..100_000u32));
        if !refused(&name) {
            return name;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_words_are_found_through_leetspeak_spacing_and_repeats() {
        let f = NicknameFilter::default();
        for bad in [
            "shit",
            "Sh1t head",
            "$h!t",
            "F.U.C.K",
            "f u c k",
            "fuuuuck",
            "MotherFucker",
            "a55",
            "A.S.S",
            "b1tch",
            "nazi_4ever",
        ] {
            assert!(f.blocks(bad), "{bad} passed");
        }
        for ok in [
            "Ann",
            "Classic Ann",
            "Bob 1995",
            "Cassandra",
            "grape",
            "Dickens",
            "Peacock",
            "analysis",
            "Sussex",
            "cucumber",
            "Brave Otter",
            "as good as it gets",
            "Seal 45626",
        ] {
            assert!(!f.blocks(ok), "{ok} was refused");
        }
    }

    #[test]
    fn operator_words_extend_the_list() {
        let f = NicknameFilter::new(&["Grumpkin".into(), " =zorp ".into(), "  ".into()]);
        assert!(f.blocks("grumpkin99") && f.blocks("GRUMPK1N") && f.blocks("zorp"));
        assert!(f.blocks("the zorp"));
        assert!(!f.blocks("zorpy"));
        assert!(f.blocks("shit"), "the built-in list stays");
    }

    #[test]
    fn generated_names_are_friendly_and_avoid_refused_ones() {
        let f = NicknameFilter::default();
        for a in ADJECTIVES {
            for b in ANIMALS {
                assert!(!f.blocks(&format!("{a} {b}")), "{a} {b}");
            }
        }
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..3_000 {
            let name = generate(&mut rng, |n| seen.contains(&n.to_lowercase()));
            assert!(name.chars().count() <= 32 && !name.is_empty());
            assert!(seen.insert(name.to_lowercase()), "{name} twice");
        }
        // Every plain name taken: numbered ones.
        let numbered = generate(&mut rng, |n| !n.chars().any(|c| c.is_ascii_digit()));
        assert!(numbered.chars().any(|c| c.is_ascii_digit()), "{numbered}");
    }
}
