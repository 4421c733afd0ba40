//! Names: anime-flavoured ones for new identities, an adjective and a
//! character class ("Azure Ronin") picked by the server, and the form in
//! which two names are compared, so that one cannot be copied with
//! lookalike letters.

use rand::seq::IndexedRandom;
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

/// How many random picks to try before falling back to a numbered name.
const RANDOM_ATTEMPTS: usize = 16;

/// Returns a name `taken` says is free. Random picks first; when the space
/// is crowded, the first free numbered variant of one of them ("Azure Ronin 2").
pub fn unique_name(taken: impl Fn(&str) -> bool) -> String {
    let mut rng = rand::rng();
    let mut pick = || {
        let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("Anonymous");
        let class = CLASSES.choose(&mut rng).copied().unwrap_or("Otaku");
        format!("{adjective} {class}")
    };
    for _ in 0..RANDOM_ATTEMPTS {
        let name = pick();
        if !taken(&name) {
            return name;
        }
    }
    let base = pick();
    (2..).map(|n| format!("{base} {n}")).find(|name| !taken(name)).unwrap_or(base)
}

/// The form names are compared in: NFKC, case folded, each character
/// mapped to the one it is confusable with (Unicode's UTS #39 skeleton), and
/// whitespace runs as one space. "Azure Ronin", "AZURE  RONIN" and
/// "Аzure Ronin" with a Cyrillic А are one name.
pub fn comparison_key(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    let skeleton: String = unicode_security::skeleton(&folded).flat_map(char::to_lowercase).collect();
    skeleton.split_whitespace().collect::<Vec<_>>().join(" ")
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

    use std::cell::RefCell;
    use std::collections::HashSet;

    #[test]
    fn names_stay_unique_past_the_number_of_combinations() {
        let combinations = ADJECTIVES.len() * CLASSES.len();
        let taken = RefCell::new(HashSet::new());
        for _ in 0..combinations + 100 {
            let name = unique_name(|name| taken.borrow().contains(name));
            assert!(name.chars().count() <= crate::protocol::MAX_USERNAME_CHARS, "{name}");
            assert!(taken.borrow_mut().insert(name));
        }
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
    fn invisible_and_reordering_characters_are_found() {
        assert!(has_hidden_characters("Azure\u{200B} Ronin"));
        assert!(has_hidden_characters("\u{202E}niноR"));
        assert!(has_hidden_characters("Azure\u{FEFF}Ronin"));
        assert!(!has_hidden_characters("Sakura 桜 🌸"));
    }
}
