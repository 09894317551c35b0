//! Synthetic but realistic organization names and contacts, derived from an index so every
//! index gives a different name: surnames, industries, legal suffixes, invented brands, some
//! non-ASCII. About 2% of names contain "abc" (a search with tens of thousands of hits per
//! million), and a handful contain "zentr".

const SURNAMES: &[(&str, &str)] = &[
    ("Müller", "mueller"),
    ("Schmidt", "schmidt"),
    ("Schneider", "schneider"),
    ("Fischer", "fischer"),
    ("Weber", "weber"),
    ("Meyer", "meyer"),
    ("Wagner", "wagner"),
    ("Becker", "becker"),
    ("Hoffmann", "hoffmann"),
    ("Schäfer", "schaefer"),
    ("Koch", "koch"),
    ("Bauer", "bauer"),
    ("Richter", "richter"),
    ("Klein", "klein"),
    ("Wolf", "wolf"),
    ("Neumann", "neumann"),
    ("Schwarz", "schwarz"),
    ("Krüger", "krueger"),
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Rodríguez", "rodriguez"),
    ("Martínez", "martinez"),
    ("Hernández", "hernandez"),
    ("López", "lopez"),
    ("González", "gonzalez"),
    ("Wilson", "wilson"),
    ("Anderson", "anderson"),
    ("Thomas", "thomas"),
    ("Taylor", "taylor"),
    ("Moore", "moore"),
    ("Jackson", "jackson"),
    ("Martin", "martin"),
    ("Lee", "lee"),
    ("Pérez", "perez"),
    ("Thompson", "thompson"),
    ("White", "white"),
    ("Harris", "harris"),
    ("Sánchez", "sanchez"),
    ("Clark", "clark"),
    ("Ramírez", "ramirez"),
    ("Lewis", "lewis"),
    ("Robinson", "robinson"),
    ("Walker", "walker"),
    ("Young", "young"),
    ("Allen", "allen"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Scott", "scott"),
    ("Torres", "torres"),
    ("Nguyen", "nguyen"),
    ("Hill", "hill"),
    ("Flores", "flores"),
    ("Green", "green"),
    ("Adams", "adams"),
    ("Nelson", "nelson"),
    ("Baker", "baker"),
    ("Hall", "hall"),
    ("Rivera", "rivera"),
    ("Campbell", "campbell"),
    ("Mitchell", "mitchell"),
    ("Carter", "carter"),
    ("Roberts", "roberts"),
    ("Dubois", "dubois"),
    ("Lefèvre", "lefevre"),
    ("Moreau", "moreau"),
    ("Laurent", "laurent"),
    ("Rossi", "rossi"),
    ("Russo", "russo"),
    ("Ferrari", "ferrari"),
    ("Esposito", "esposito"),
    ("Bianchi", "bianchi"),
    ("Romano", "romano"),
    ("Kowalski", "kowalski"),
    ("Nowak", "nowak"),
    ("Wiśniewski", "wisniewski"),
    ("Dvořák", "dvorak"),
    ("Novák", "novak"),
    ("Horváth", "horvath"),
    ("Nagy", "nagy"),
    ("Kovács", "kovacs"),
    ("Jansen", "jansen"),
    ("de Vries", "devries"),
    ("van Dijk", "vandijk"),
    ("Bakker", "bakker"),
    ("Andersson", "andersson"),
    ("Johansson", "johansson"),
    ("Karlsson", "karlsson"),
    ("Nilsson", "nilsson"),
    ("Øster", "oester"),
    ("Hansen", "hansen"),
    ("Larsen", "larsen"),
    ("Sørensen", "soerensen"),
    ("Virtanen", "virtanen"),
    ("Korhonen", "korhonen"),
    ("Silva", "silva"),
    ("Santos", "santos"),
    ("Oliveira", "oliveira"),
    ("Pereira", "pereira"),
    ("Costa", "costa"),
    ("Yılmaz", "yilmaz"),
    ("Kaya", "kaya"),
    ("Demir", "demir"),
    ("Tanaka", "tanaka"),
    ("Suzuki", "suzuki"),
    ("Sato", "sato"),
    ("Kim", "kim"),
    ("Park", "park"),
    ("Chen", "chen"),
    ("Wang", "wang"),
    ("Li", "li"),
    ("Zhang", "zhang"),
    ("Liu", "liu"),
    ("Patel", "patel"),
    ("Singh", "singh"),
    ("Kumar", "kumar"),
    ("Sharma", "sharma"),
    ("Ivanov", "ivanov"),
    ("Petrov", "petrov"),
    ("O'Brien", "obrien"),
    ("MacLeod", "macleod"),
    ("Ó Súilleabháin", "osullivan"),
];

const BRANDS: &[&str] = &[
    "Abcora",
    "Nordlicht",
    "Zephyra",
    "Lumina",
    "Quantix",
    "Veridian",
    "Solvent",
    "Aurelia",
    "Brightwave",
    "Cobalt",
    "Dynamo",
    "Everline",
    "Fjordic",
    "Granite",
    "Helix",
    "Ionix",
    "Juniper",
    "Kestrel",
    "Lattice",
    "Meridian",
    "Nimbus",
    "Orbital",
    "Pinnacle",
    "Quill",
    "Redwood",
    "Sierra",
    "Tundra",
    "Umbra",
    "Vantage",
    "Willow",
    "Xylem",
    "Yonder",
    "Zenith",
    "Åsgard",
    "Élan",
    "Čistý",
    "Fabcroft",
    "Halcyon",
    "Icarus",
    "Kinetic",
];

const INDUSTRIES: &[&str] = &[
    "Logistics",
    "Consulting",
    "Software",
    "Analytics",
    "Engineering",
    "Pharma",
    "Biotech",
    "Foods",
    "Textiles",
    "Robotics",
    "Energy",
    "Solar",
    "Wind Power",
    "Shipping",
    "Freight",
    "Legal",
    "Accounting",
    "Insurance",
    "Capital",
    "Ventures",
    "Holdings",
    "Media",
    "Publishing",
    "Design",
    "Architecture",
    "Construction",
    "Mining",
    "Metals",
    "Chemicals",
    "Plastics",
    "Optics",
    "Electronics",
    "Semiconductors",
    "Telecom",
    "Networks",
    "Security",
    "Health",
    "Clinics",
    "Dental",
    "Veterinary",
    "Education",
    "Academy",
    "Research",
    "Labs",
    "Hotels",
    "Travel",
    "Aviation",
    "Motors",
    "Automotive",
    "Marine",
    "Farms",
    "Vineyards",
    "Brewing",
    "Bakery",
    "Retail",
    "Fashion",
    "Furniture",
    "Maschinenbau",
    "Immobilien",
    "Lebensmittel",
];

const SUFFIXES: &[&str] = &[
    "GmbH",
    "AG",
    "KG",
    "Ltd",
    "LLC",
    "Inc.",
    "Corp.",
    "PLC",
    "S.A.",
    "SARL",
    "SAS",
    "S.p.A.",
    "S.r.l.",
    "B.V.",
    "N.V.",
    "AB",
    "A/S",
    "Oy",
    "sp. z o.o.",
    "s.r.o.",
    "Kft.",
    "Pty Ltd",
    "K.K.",
    "Co.",
    "& Partners",
    "Group",
];

const REGIONS: &[&str] = &[
    "Nord",
    "Süd",
    "Ost",
    "West",
    "Europe",
    "Americas",
    "Asia",
    "Pacific",
    "International",
    "Holding",
    "Services",
    "Solutions",
    "Systems",
    "Global",
    "Digital",
    "Direct",
    "Works",
    "Studio",
    "Partners",
    "Trust",
];

const FIRST_NAMES: &[&str] = &[
    "anna", "ben", "clara", "david", "emma", "felix", "greta", "hugo", "ida", "jonas", "karin", "lukas", "maria",
    "noah", "olga", "paul", "rosa", "sven", "tina", "uwe", "vera", "will", "yara", "zoe", "ahmed", "bianca", "chen",
    "dmitri", "elena", "farah", "giulia", "hiro", "ines", "jamal", "kofi", "lena", "mateo", "nadia", "omar", "priya",
];

/// A generated organization.
pub struct DemoOrg {
    pub name: String,
    pub contact: String,
}

/// Split `n` into digits of the given bases (least significant first) and the overflow.
fn digits<const N: usize>(mut n: u64, bases: [usize; N]) -> ([usize; N], u64) {
    let mut out = [0; N];
    for (slot, base) in out.iter_mut().zip(bases) {
        *slot = (n % base as u64) as usize;
        n /= base as u64;
    }
    (out, n)
}

fn with_overflow(name: String, overflow: u64) -> String {
    if overflow == 0 {
        name
    } else {
        format!("{name} {}", overflow + 1)
    }
}

/// The organization with index `n`; different indexes give different names.
pub fn org(n: u64) -> DemoOrg {
    // The pattern is the last decimal digit, so each pattern enumerates its own combinations.
    let (pattern, k) = (n % 10, n / 10);
    let name = if n % 100_000 == 77 {
        let ([s, x], rest) = digits(k, [SURNAMES.len(), SUFFIXES.len()]);
        with_overflow(format!("{} Zentrum {}", SURNAMES[s].0, SUFFIXES[x]), rest)
    } else {
        match pattern {
            0..=3 => {
                let ([s, i, x, r], rest) =
                    digits(k * 4 + pattern, [SURNAMES.len(), INDUSTRIES.len(), SUFFIXES.len(), REGIONS.len()]);
                let region = if r == 0 { String::new() } else { format!(" {}", REGIONS[r]) };
                with_overflow(format!("{} {}{region} {}", SURNAMES[s].0, INDUSTRIES[i], SUFFIXES[x]), rest)
            }
            4..=6 => {
                let ([b, i, x, r], rest) =
                    digits(k * 3 + (pattern - 4), [BRANDS.len(), INDUSTRIES.len(), SUFFIXES.len(), REGIONS.len()]);
                let region = if r == 0 { String::new() } else { format!(" {}", REGIONS[r]) };
                with_overflow(format!("{} {}{region} {}", BRANDS[b], INDUSTRIES[i], SUFFIXES[x]), rest)
            }
            7 | 8 => {
                let ([a, b, x], rest) = digits(k, [SURNAMES.len(), SURNAMES.len(), SUFFIXES.len()]);
                let and = if pattern == 7 { "&" } else { "und" };
                with_overflow(format!("{} {and} {} {}", SURNAMES[a].0, SURNAMES[b].0, SUFFIXES[x]), rest)
            }
            _ => {
                let ([a, b, r], rest) = digits(k, [BRANDS.len(), BRANDS.len(), REGIONS.len()]);
                let second = BRANDS[b].to_lowercase();
                with_overflow(format!("{}{second} {}", BRANDS[a], REGIONS[r]), rest)
            }
        }
    };
    // Contacts: a person at a domain named after a surname; about 1 in 100 has none.
    let contact = if n % 100 == 42 {
        String::new()
    } else {
        let ([f, s, d], _) = digits(n.wrapping_mul(2_654_435_761) % 1_000_003, [FIRST_NAMES.len(), SURNAMES.len(), 7]);
        let tld = ["com", "de", "fr", "co.uk", "io", "net", "org"][d];
        format!(
            "{}.{}@{}-{}.example.{tld}",
            FIRST_NAMES[f],
            SURNAMES[s].1,
            SURNAMES[(s + 17) % SURNAMES.len()].1,
            n % 97
        )
    };
    DemoOrg { name, contact }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_ignoring_case_over_many_indexes() {
        let mut seen = HashSet::new();
        for n in 0..200_000 {
            let name = org(n).name;
            assert!(seen.insert(crate::domain::fold(&name)), "{n}: {name} repeats");
            assert!(crate::domain::OrgName::parse(&name).is_ok(), "{name} is not a valid name");
        }
    }

    #[test]
    fn search_terms_have_the_intended_spread() {
        let abc = (0..100_000).filter(|n| crate::domain::fold(&org(*n).name).contains("abc")).count();
        assert!((1_000..5_000).contains(&abc), "abc: {abc} per 100,000");
        let zentr = (0..1_000_000).filter(|n| org(*n).name.to_lowercase().contains("zentr")).count();
        assert!((5..50).contains(&zentr), "zentr: {zentr} per million");
    }

    #[test]
    fn contacts_are_valid_emails_or_empty() {
        for n in 0..5_000 {
            let contact = org(n).contact;
            assert!(contact.is_empty() || crate::domain::EmailAddress::parse(&contact).is_ok(), "{contact}");
        }
    }
}
