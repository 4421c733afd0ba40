//! Anime-flavoured usernames: an adjective and a character class, such as
//! "Azure Ronin". The server picks them; clients never choose their own.

use std::collections::HashSet;

use rand::seq::IndexedRandom;

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

/// Returns a name not in `taken`. Random picks first; when the space is
/// crowded, the first free numbered variant of one of them ("Azure Ronin 2").
pub fn unique_name(taken: &HashSet<String>) -> String {
    let mut rng = rand::rng();
    let mut pick = || {
        let adjective = ADJECTIVES.choose(&mut rng).copied().unwrap_or("Anonymous");
        let class = CLASSES.choose(&mut rng).copied().unwrap_or("Otaku");
        format!("{adjective} {class}")
    };
    for _ in 0..RANDOM_ATTEMPTS {
        let name = pick();
        if !taken.contains(&name) {
            return name;
        }
    }
    let base = pick();
    (2..).map(|n| format!("{base} {n}")).find(|name| !taken.contains(name)).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_unique_past_the_number_of_combinations() {
        let combinations = ADJECTIVES.len() * CLASSES.len();
        let mut taken = HashSet::new();
        for _ in 0..combinations + 100 {
            let name = unique_name(&taken);
            assert!(name.chars().count() <= crate::protocol::MAX_USERNAME_CHARS, "{name}");
            assert!(taken.insert(name));
        }
    }
}
