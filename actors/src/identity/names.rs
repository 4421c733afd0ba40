//! Names: anime-flavoured ones for new identities, an adjective and a
//! character class ("Azure Ronin") picked by the server, and the form in
//! which two names are compared, so that one cannot be copied with
//! lookalike letters.

use std::sync::LazyLock;

use rand::seq::IndexedRandom;
use rand::RngExt;
use unicode_normalization::UnicodeNormalization;

const ADJECTIVES: &[&str] = &[
    "Azure",
    "Crimson",
    "Silent",
    "Starlit",
    "Sakura",
    "Moonlit",
    "Radiant",
    "Shadow",
    "Golden",
    "Electric",
    "Frozen",
    "Blazing",
    "Mystic",
    "Velvet",
    "Cosmic",
    "Jade",
    "Neon",
    "Lunar",
    "Solar",
    "Wandering",
    "Hidden",
    "Thunder",
    "Crystal",
    "Scarlet",
    "Midnight",
    "Spirit",
    "Iron",
    "Silver",
    "Twilight",
    "Phantom",
    "Emerald",
    "Violet",
    "Dawn",
    "Storm",
    "Ember",
    "Gentle",
    "Fierce",
    "Dreaming",
    "Swift",
    "Celestial",
];

const CLASSES: &[&str] = &[
    "Ronin",
    "Samurai",
    "Ninja",
    "Shinobi",
    "Kitsune",
    "Miko",
    "Mage",
    "Alchemist",
    "Paladin",
    "Idol",
    "Mecha Pilot",
    "Spirit Tamer",
    "Sensei",
    "Senpai",
    "Dragon Rider",
    "Summoner",
    "Swordsman",
    "Archer",
    "Oni",
    "Tengu",
    "Wanderer",
    "Sorcerer",
    "Knight",
    "Bard",
    "Healer",
    "Detective",
    "Magical Girl",
    "Shrine Keeper",
    "Sky Pirate",
    "Hero",
    "Villain",
    "Tanuki",
    "Exorcist",
    "Guardian",
    "Sage",
    "Kunoichi",
    "Ranger",
    "Monk",
    "Witch",
    "Captain",
];

/// Random picks tried in each form of name before the next, longer one.
/// Every pick costs a lookup of its comparison key, and the plain form
/// holds only `ADJECTIVES × CLASSES` names: a crowd of tens of thousands
/// needs a numbered one quickly, not after a long walk.
const PICKS_PER_FORM: usize = 8;

/// The numbered forms ("Azure Ronin 42"), each a hundred times roomier
/// than the one before: a random free name is found in one or two picks.
const NUMBERS: [std::ops::Range<u32>; 3] = [2..100, 100..10_000, 10_000..1_000_000];

/// Returns a name `taken` says is free: a random plain one, else a random
/// numbered one, else (all picks taken) the first free number after one.
pub fn unique_name(taken: impl Fn(&str) -> bool) -> String {
    let mut rng = rand::rng();
    for numbers in std::iter::once(None).chain(NUMBERS.iter().map(Some)) {
        for _ in 0..PICKS_PER_FORM {
            let number = numbers.map(|numbers| rng.random_range(numbers.clone()));
            let name = pick(&mut rng, number);
            if !taken(&name) {
                return name;
            }
        }
    }
    let base = pick(&mut rng, None);
    (2..).map(|n| format!("{base} {n}")).find(|name| !taken(name)).unwrap_or(base)
}

fn pick(rng: &mut impl rand::Rng, number: Option<u32>) -> String {
    let adjective = ADJECTIVES.choose(rng).copied().unwrap_or("Anonymous");
    let class = CLASSES.choose(rng).copied().unwrap_or("Otaku");
    match number {
        Some(number) => format!("{adjective} {class} {number}"),
        None => format!("{adjective} {class}"),
    }
}

/// The form names are compared in: NFKC, case folded, each character
/// mapped to the one it is confusable with (Unicode's UTS #39 skeleton), and
/// whitespace runs as one space. "Azure Ronin", "AZURE  RONIN" and
/// "Аzure Ronin" with a Cyrillic А are one name.
pub fn comparison_key(name: &str) -> String {
    collapse_whitespace(&ascii_skeleton(name).unwrap_or_else(|| skeleton(name)))
}

/// NFKC, case folded, each character mapped to its prototype.
fn skeleton(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    unicode_security::skeleton(&folded).flat_map(char::to_lowercase).collect()
}

/// [`skeleton`] of an ASCII name by table, when every character's is ASCII
/// too: both normalizations leave ASCII as it is, so each character maps
/// on its own. Every server-given name is such a one, and a join looks up
/// several: the full path costs microseconds a name.
fn ascii_skeleton(name: &str) -> Option<String> {
    static SKELETONS: LazyLock<[Option<String>; 128]> = LazyLock::new(|| {
        std::array::from_fn(|ascii| {
            let skeleton = skeleton(char::from(ascii as u8).encode_utf8(&mut [0; 4]));
            skeleton.is_ascii().then_some(skeleton)
        })
    });
    name.bytes().map(|byte| SKELETONS.get(usize::from(byte))?.as_deref()).collect()
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `name` holds a character that is invisible or reorders text
/// (zero-width spaces and joiners, bidi controls, soft hyphens): such a
/// name could look like another one, so it is refused.
pub fn has_hidden_characters(name: &str) -> bool {
    name.chars().any(|c| {
        matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}')
            || matches!(c, '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::cell::{Cell, RefCell};
    use std::collections::HashSet;

    #[test]
    fn names_stay_unique_and_cheap_to_find_in_a_crowd() {
        let crowd = 20_000;
        let (taken, lookups) = (RefCell::new(HashSet::new()), Cell::new(0));
        for _ in 0..crowd {
            let name = unique_name(|name| {
                lookups.set(lookups.get() + 1);
                taken.borrow().contains(name)
            });
            assert!(name.chars().count() <= crate::protocol::MAX_USERNAME_CHARS, "{name}");
            assert!(taken.borrow_mut().insert(name));
        }
        // Past the plain names' 1,600 a new one costs the plain form's
        // picks and about one more (8.5 a name here); 16 plain picks and a
        // walk of the numbers from 2 took 21 (a simulation of the old code).
        let per_name = f64::from(lookups.get()) / f64::from(crowd);
        assert!(per_name < f64::from(PICKS_PER_FORM as u32 + 2), "{per_name} lookups a name");
    }

    #[test]
    fn every_pick_taken_still_gives_a_free_name() {
        let (picks, lookups) = (PICKS_PER_FORM * (1 + NUMBERS.len()), Cell::new(0));
        let name = unique_name(|_| {
            lookups.set(lookups.get() + 1);
            lookups.get() <= picks
        });
        assert_eq!(lookups.get(), picks + 1);
        assert!(name.ends_with(" 2"), "the first number after a plain name: {name}");
    }

    #[test]
    fn lookalikes_compare_equal() {
        let key = comparison_key("Azure Ronin");
        for lookalike in
            ["azure ronin", "AZURE  RONIN", " Azure Ronin ", "\u{0410}zure Ronin", "Azure Ｒonin", "Azure R\u{043E}nin"]
        {
            assert_eq!(comparison_key(lookalike), key, "{lookalike:?}");
        }
        assert_ne!(comparison_key("Azure Ronin 2"), key);
        assert_ne!(comparison_key("Jade Sage"), key);
    }

    #[test]
    fn ascii_names_get_the_full_key_by_table() {
        let full_key = |name: &str| collapse_whitespace(&skeleton(name));
        let pairs = (0..128u8).flat_map(|a| (0..128u8).map(move |b| [char::from(a), char::from(b)].iter().collect()));
        for name in pairs.chain(["rn vs m", "I l 1 | 0 O", "AZURE  RONIN 42"].map(String::from)) {
            assert_eq!(comparison_key(&name), full_key(&name), "{name:?}");
        }
        for name in
            ADJECTIVES.iter().flat_map(|adjective| CLASSES.iter().map(move |class| format!("{adjective} {class} 7")))
        {
            assert!(ascii_skeleton(&name).is_some(), "{name} takes the table");
            assert_eq!(comparison_key(&name), full_key(&name), "{name}");
        }
    }

    #[test]
    fn invisible_and_reordering_characters_are_found() {
        assert!(has_hidden_characters("Azure\u{200B} Ronin"));
        assert!(has_hidden_characters("\u{202E}niноR"));
        assert!(has_hidden_characters("Azure\u{FEFF}Ronin"));
        assert!(!has_hidden_characters("Sakura 桜 🌸"));
    }
}
