//! How much a word of a company name says about *which* company it is.
//!
//! A shared surname or invented word is strong evidence that two names
//! mean the same company; a shared "services", "uk" or "plumbing" is weak,
//! because thousands of companies share it. The right measure is the
//! word's inverse document frequency over the whole register, `ln(N/df)`.
//! Until leadgen holds a copy of the register (the bulk-file issue) it
//! estimates `df` by the class a word belongs to, for a register of about
//! N = 5.7 million names (Companies House, 2026):
//!
//! | class | examples | df estimate | weight `ln(N/df) / ln(N/300)` |
//! |---|---|---|---|
//! | filler | and, of, the, for | N/8 | 0.21 |
//! | further | company, uk, gb, wales (the "same as" rules' further words) | N/20 | 0.30 |
//! | generic | services, group, holdings, solutions, international | N/30 | 0.35 |
//! | trade | every word of the SIC 2007 descriptions, and trade nouns (builders, plumbers, publishers) | N/300 | 0.58 |
//! | place | UK nations, regions, counties and large towns | N/300 | 0.58 |
//! | number | 1, 24, 360 | N/300 | 0.58 |
//! | common | other ordinary English words (kitchenware, chartered, moss) | N/2000 | 0.77 |
//! | distinctive | anything else: surnames, invented words | 300 | 1.00 |
//!
//! Trade words come from the register's own list of trades
//! (`data/sic07_condensed_list_en.csv`, the SIC 2007 condensed list that
//! Companies House publishes), so "publishing", "insurance" and
//! "plumbing" are trade words without anyone listing them; the agent
//! nouns the SIC text lacks ("builders", "publishers") are listed below.
//! Ordinary English words come from SCOWL's common-word lists
//! (`data/english_words_35.txt`, lowercase entries only, so that surnames
//! and place names, which SCOWL capitalises, stay distinctive).

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::company_name::{NameWord, fold_plural};

/// What kind of word it is, for its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WordClass {
    Filler,
    Further,
    Generic,
    Trade,
    Place,
    Number,
    Common,
    Distinctive,
}

impl WordClass {
    /// The word's weight: its estimated inverse document frequency,
    /// relative to a distinctive word's (see the module docs).
    pub fn weight(self) -> f64 {
        // ln(N/df) / ln(N/300) with N = 5.7e6.
        const DISTINCTIVE_IDF: f64 = 9.852; // ln(19_000)
        let idf = match self {
            WordClass::Filler => 8f64.ln(),
            WordClass::Further => 20f64.ln(),
            WordClass::Generic => 30f64.ln(),
            WordClass::Trade | WordClass::Place | WordClass::Number => 300f64.ln(),
            WordClass::Common => 2000f64.ln(),
            WordClass::Distinctive => DISTINCTIVE_IDF,
        };
        idf / DISTINCTIVE_IDF
    }

    pub fn label(self) -> &'static str {
        match self {
            WordClass::Filler => "filler",
            WordClass::Further => "further",
            WordClass::Generic => "generic",
            WordClass::Trade => "trade",
            WordClass::Place => "place",
            WordClass::Number => "number",
            WordClass::Common => "common",
            WordClass::Distinctive => "distinctive",
        }
    }
}

const FILLER: &[&str] = &[
    "and", "of", "the", "for", "in", "on", "at", "by", "to", "a", "an", "with", "de", "la", "le",
    "y", "a", "plus", "at",
];

/// The further words of the "same as" rules (see [`crate::company_name`]).
const FURTHER: &[&str] = &[
    "company",
    "companies",
    "uk",
    "gb",
    "biz",
    "com",
    "net",
    "org",
    "wales",
    "cymru",
    "united",
    "kingdom",
    "great",
    "britain",
    "www",
];

/// Words found in a great many names across every trade. The first five
/// were the pre-2015 "same as" further words that the 2015 Regulations
/// deleted; the rest are their kind.
const GENERIC: &[&str] = &[
    "group",
    "holdings",
    "holding",
    "international",
    "services",
    "service",
    "export",
    "exports",
    "solutions",
    "solution",
    "enterprises",
    "enterprise",
    "ventures",
    "venture",
    "associates",
    "partners",
    "partnership",
    "consulting",
    "consultancy",
    "consultants",
    "consultant",
    "management",
    "trading",
    "traders",
    "industries",
    "industry",
    "systems",
    "global",
    "worldwide",
    "national",
    "british",
    "european",
    "investments",
    "investment",
    "capital",
    "resources",
    "products",
    "brothers",
    "sons",
    "son",
    "daughters",
    "family",
    "contractors",
    "contracting",
    "agency",
    "works",
    "centre",
    "center",
    "direct",
    "online",
    "network",
    "networks",
    "corporation",
    "incorporated",
    "inc",
    "general",
    "universal",
    "premier",
    "elite",
    "prime",
    "first",
    "new",
    "best",
    "quality",
    "professional",
    "professionals",
    "pro",
    "express",
    "star",
    "one",
    "smart",
    "total",
    "complete",
    "advanced",
    "creative",
    "innovations",
    "innovation",
    "projects",
    "project",
    "developments",
    "development",
    "properties",
    "property",
    "estates",
    "estate",
    "homes",
    "home",
    "design",
    "designs",
    "media",
    "digital",
    "technology",
    "technologies",
    "tech",
    "limited",
    "ltd",
    "uk",
    "co",
    "trust",
    "foundation",
    "society",
    "association",
    "club",
    "assets",
    "finance",
    "financial",
    "supplies",
    "supply",
    "care",
    "health",
    "world",
    "city",
    "local",
    "community",
    "studio",
    "studios",
    "concepts",
    "concept",
    "unlimited",
    "bespoke",
    "specialist",
    "specialists",
    "company",
    "business",
    "businesses",
    "commercial",
    "residential",
    "domestic",
    "trade",
    "group",
    "partner",
    "official",
    "original",
    "quality",
    "premium",
    "legal",
    "wholesale",
    "retail",
    "plc",
    "llp",
];

/// Trade nouns and adjectives that lead lists and names use but the SIC
/// descriptions phrase differently ("builders" for "construction of
/// buildings").
const TRADE: &[&str] = &[
    "builder",
    "builders",
    "plumber",
    "plumbers",
    "plumbing",
    "heating",
    "electrician",
    "electricians",
    "electrical",
    "electrics",
    "joiner",
    "joiners",
    "joinery",
    "roofer",
    "roofers",
    "roofing",
    "decorator",
    "decorators",
    "decorating",
    "plasterer",
    "plasterers",
    "plastering",
    "carpenter",
    "carpenters",
    "carpentry",
    "bricklayer",
    "bricklaying",
    "landscaper",
    "landscapers",
    "landscapes",
    "landscaping",
    "gardener",
    "gardeners",
    "gardening",
    "cleaner",
    "cleaners",
    "cleaning",
    "accountant",
    "accountants",
    "accountancy",
    "solicitor",
    "solicitors",
    "lawyers",
    "law",
    "architect",
    "architects",
    "surveyor",
    "surveyors",
    "engineer",
    "engineers",
    "engineering",
    "developer",
    "developers",
    "publisher",
    "publishers",
    "publishing",
    "publications",
    "books",
    "book",
    "press",
    "printer",
    "printers",
    "print",
    "printing",
    "baker",
    "bakers",
    "bakery",
    "butcher",
    "butchers",
    "florist",
    "florists",
    "flowers",
    "caterer",
    "caterers",
    "catering",
    "hairdresser",
    "hairdressers",
    "hair",
    "barber",
    "barbers",
    "salon",
    "dental",
    "dentist",
    "dentists",
    "vet",
    "vets",
    "veterinary",
    "pharmacy",
    "chemist",
    "chemists",
    "optician",
    "opticians",
    "agents",
    "agent",
    "lettings",
    "letting",
    "removals",
    "haulage",
    "courier",
    "couriers",
    "taxi",
    "taxis",
    "cars",
    "car",
    "motor",
    "motors",
    "garage",
    "tyres",
    "windows",
    "doors",
    "kitchens",
    "kitchen",
    "bathrooms",
    "gas",
    "scaffolding",
    "fencing",
    "paving",
    "flooring",
    "carpets",
    "tiling",
    "tiles",
    "glazing",
    "interiors",
    "interior",
    "nursery",
    "nurseries",
    "tutoring",
    "tuition",
    "training",
    "recruitment",
    "insurance",
    "insurers",
    "brokers",
    "broker",
    "mortgages",
    "wealth",
    "logistics",
    "freight",
    "shipping",
    "travel",
    "tours",
    "hotel",
    "hotels",
    "restaurant",
    "cafe",
    "coffee",
    "pub",
    "inn",
    "brewery",
    "brewing",
    "wines",
    "wine",
    "foods",
    "food",
    "farm",
    "farms",
    "farming",
    "dairy",
    "fitness",
    "gym",
    "clinic",
    "physio",
    "physiotherapy",
    "beauty",
    "aesthetics",
    "fashion",
    "clothing",
    "software",
    "computing",
    "computers",
    "it",
    "security",
    "electronics",
    "energy",
    "solar",
    "environmental",
    "recycling",
    "waste",
    "skip",
    "skips",
    "plant",
    "hire",
    "tools",
    "shop",
    "shops",
    "photography",
    "films",
    "film",
    "productions",
    "music",
    "events",
    "entertainment",
    "sports",
    "leisure",
    "golf",
    "garden",
    "gardens",
    "pets",
    "marine",
    "yachts",
    "aviation",
    "aerospace",
    "automotive",
    "precision",
    "fabrication",
    "fabrications",
    "steel",
    "plastics",
    "packaging",
    "chemicals",
    "pharmaceuticals",
    "medical",
    "healthcare",
    "laboratories",
    "labs",
    "research",
    "marketing",
    "advertising",
    "signs",
    "joiners",
    "shopfitting",
    "upholstery",
    "removal",
    "storage",
    "warehousing",
    "transport",
    "haulier",
    "hauliers",
    "plant",
    "demolition",
    "groundworks",
    "civil",
    "civils",
    "drainage",
    "maintenance",
    "repairs",
    "installations",
    "installation",
    "surveying",
    "dentistry",
    "orthodontics",
    "homecare",
    "nursing",
    "rental",
    "rentals",
    "cleaning",
    "valeting",
    "florist",
    "bridal",
    "jewellers",
    "jewellery",
    "opticians",
    "funeral",
    "directors",
    "undertakers",
    "estate",
    "lets",
    "holiday",
    "cottages",
    "catering",
    "takeaway",
    "kebab",
    "pizza",
    "fish",
    "chips",
    "bar",
    "grill",
    "lounge",
    "studio",
    "tattoo",
    "nails",
    "spa",
    "massage",
    "therapy",
    "therapies",
    "counselling",
    "coaching",
    "academy",
    "school",
    "college",
    "education",
    "learning",
];

/// UK nations, regions, counties and large towns: place words that many
/// unrelated companies share.
const PLACES: &[&str] = &[
    "england",
    "scotland",
    "wales",
    "ireland",
    "northern",
    "north",
    "south",
    "east",
    "west",
    "central",
    "midlands",
    "yorkshire",
    "lancashire",
    "cheshire",
    "kent",
    "essex",
    "surrey",
    "sussex",
    "devon",
    "cornwall",
    "dorset",
    "somerset",
    "hampshire",
    "berkshire",
    "oxfordshire",
    "cambridgeshire",
    "norfolk",
    "suffolk",
    "lincolnshire",
    "derbyshire",
    "nottinghamshire",
    "leicestershire",
    "staffordshire",
    "shropshire",
    "warwickshire",
    "worcestershire",
    "gloucestershire",
    "wiltshire",
    "cumbria",
    "northumberland",
    "durham",
    "teesside",
    "tyneside",
    "merseyside",
    "humberside",
    "london",
    "birmingham",
    "manchester",
    "leeds",
    "liverpool",
    "sheffield",
    "bristol",
    "newcastle",
    "nottingham",
    "leicester",
    "coventry",
    "bradford",
    "hull",
    "stoke",
    "wolverhampton",
    "plymouth",
    "southampton",
    "portsmouth",
    "reading",
    "derby",
    "swansea",
    "cardiff",
    "edinburgh",
    "glasgow",
    "aberdeen",
    "dundee",
    "belfast",
    "oxford",
    "cambridge",
    "york",
    "brighton",
    "norwich",
    "exeter",
    "bath",
    "chester",
    "carlisle",
    "lancaster",
    "preston",
    "blackpool",
    "bolton",
    "wigan",
    "warrington",
    "stockport",
    "oldham",
    "rochdale",
    "huddersfield",
    "halifax",
    "wakefield",
    "doncaster",
    "rotherham",
    "barnsley",
    "harrogate",
    "scarborough",
    "middlesbrough",
    "sunderland",
    "gateshead",
    "lincoln",
    "peterborough",
    "northampton",
    "luton",
    "watford",
    "croydon",
    "guildford",
    "maidstone",
    "canterbury",
    "dover",
    "ipswich",
    "colchester",
    "chelmsford",
    "southend",
    "bournemouth",
    "poole",
    "swindon",
    "gloucester",
    "cheltenham",
    "worcester",
    "hereford",
    "shrewsbury",
    "telford",
    "wrexham",
    "newport",
    "inverness",
    "perth",
    "stirling",
    "derry",
    "londonderry",
    "europe",
    "anglia",
    "highlands",
    "highland",
    "thames",
    "severn",
    "pennine",
    "pennines",
    "cotswold",
    "cotswolds",
    "chiltern",
    "chilterns",
    "dales",
    "valley",
    "borders",
    "western",
    "eastern",
    "southern",
    "upper",
    "lower",
    "greater",
    "royal",
    "county",
    "counties",
    "milton",
    "keynes",
    "cymru",
    "celtic",
    "atlantic",
    "albion",
    "britannia",
    "caledonian",
    "caledonia",
    "mercia",
    "wessex",
    "ulster",
];

struct Lexicon {
    filler: HashSet<String>,
    further: HashSet<String>,
    generic: HashSet<String>,
    trade: HashSet<String>,
    places: HashSet<String>,
    common: HashSet<&'static str>,
}

/// Every word of the SIC descriptions, lowercase.
fn sic_words() -> impl Iterator<Item = String> {
    const SIC: &str = include_str!("../../data/sic07_condensed_list_en.csv");
    SIC.lines().skip(1).flat_map(|line| {
        // `code,description`; the description may be quoted.
        let description = line.split_once(',').map_or("", |(_, d)| d);
        description
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() > 1)
            .map(str::to_ascii_lowercase)
            .collect::<Vec<_>>()
    })
}

fn lexicon() -> &'static Lexicon {
    static LEXICON: OnceLock<Lexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let set = |words: &[&str]| -> HashSet<String> {
            words
                .iter()
                .flat_map(|w| [(*w).to_owned(), fold_plural(w)])
                .collect()
        };
        let filler = set(FILLER);
        let mut trade = set(TRADE);
        for w in sic_words() {
            if !filler.contains(&w) {
                trade.insert(fold_plural(&w));
                trade.insert(w);
            }
        }
        Lexicon {
            filler,
            further: set(FURTHER),
            generic: set(GENERIC),
            trade,
            places: set(PLACES),
            common: include_str!("../../data/english_words_35.txt")
                .lines()
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .collect(),
        }
    })
}

/// The class of a word of a name.
pub fn class_of(word: &NameWord) -> WordClass {
    let lex = lexicon();
    let has = |set: &HashSet<String>| set.contains(&word.text) || set.contains(&word.folded);
    if word.text.bytes().all(|b| b.is_ascii_digit()) {
        WordClass::Number
    } else if has(&lex.filler) {
        WordClass::Filler
    } else if has(&lex.further) {
        WordClass::Further
    } else if has(&lex.generic) {
        WordClass::Generic
    } else if has(&lex.places) {
        WordClass::Place
    } else if has(&lex.trade) {
        WordClass::Trade
    } else if lex.common.contains(word.text.as_str()) || lex.common.contains(word.folded.as_str()) {
        WordClass::Common
    } else {
        WordClass::Distinctive
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company_name::name_words;

    fn classes(name: &str) -> Vec<(String, WordClass)> {
        name_words(name, true)
            .words
            .iter()
            .map(|w| (w.text.clone(), class_of(w)))
            .collect()
    }

    #[test]
    fn trade_words_come_from_the_sic_descriptions() {
        // "Book publishing" (58110), "Non-life insurance" (65120),
        // "Plumbing, heat and air-conditioning installation" (43220).
        for word in [
            "publishing",
            "insurance",
            "plumbing",
            "installation",
            "cereals",
        ] {
            let w = &name_words(word, true).words[0];
            assert_eq!(class_of(w), WordClass::Trade, "{word}");
        }
    }

    #[test]
    fn surnames_and_invented_words_are_distinctive() {
        let got = classes("Holloway & Sons Builders (Hull) Ltd");
        assert_eq!(
            got,
            vec![
                ("holloway".to_owned(), WordClass::Distinctive),
                ("and".to_owned(), WordClass::Filler),
                ("sons".to_owned(), WordClass::Generic),
                ("builders".to_owned(), WordClass::Trade),
                ("hull".to_owned(), WordClass::Place),
            ]
        );
        assert_eq!(classes("Zyntra")[0].1, WordClass::Distinctive);
        assert_eq!(classes("Chartered")[0].1, WordClass::Common);
    }

    #[test]
    fn weights_order_the_classes() {
        let w = |c: WordClass| c.weight();
        assert!((w(WordClass::Distinctive) - 1.0).abs() < 1e-3);
        assert!(w(WordClass::Filler) < w(WordClass::Further));
        assert!(w(WordClass::Further) < w(WordClass::Generic));
        assert!(w(WordClass::Generic) < w(WordClass::Trade));
        assert!(w(WordClass::Trade) < w(WordClass::Common));
        assert!(w(WordClass::Common) < w(WordClass::Distinctive));
    }
}
