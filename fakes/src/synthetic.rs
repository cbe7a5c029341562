//! A deterministic generator of registers of any size, for benchmarks.
//!
//! Same `(n, seed)`, same register, on every machine and Rust version: the
//! RNG is a hand-rolled SplitMix64 rather than a crate whose streams may
//! change between releases. Records follow the same spec shapes as the
//! bundled dataset; numbers start at `20000000` so they never clash with it.
//!
//! **People with several appointments.** After each company's own officers
//! (drawn as before) come the appointments of *shared people*, who hold the
//! same officer id, name and date of birth in every company they serve, so
//! `/officers/{id}/appointments` agrees with the officer lists:
//!
//! * the *pool* ([`pooled_person`]): the companies are cut into groups of
//!   [`POOL_GROUP`] consecutive ones, each group into [`POOL_STRIDE`] blocks
//!   (block `r` holds the group's companies `r`, `r + 20`, `r + 40`, ...),
//!   and each block has [`POOL_PEOPLE_PER_BLOCK`] pooled people, each
//!   appointed in 2 to 6 of the block's companies (theirs plus 1 to 5
//!   others). That is 0.4 extra appointments per company beside the ~3.5
//!   drawn, so about 10% of all officer items are pooled people's. Person
//!   `p` of the pool and their companies follow from `(seed, p)` alone,
//!   so a company's list is made without looking at any other company;
//! * [`shared_person`]: when the register has at least
//!   [`SHARED_PERSON_MIN_COMPANIES`] companies, one person is a director of
//!   each of its first [`SHARED_PERSON_SPAN`] companies (300 to 360
//!   appointments; a quarter of them resigned, and all those in dissolved
//!   companies), for paging tests.
//!
//! A company's own officers and everything else about it depend on
//! `(seed, index)` only, as before; the shared people's appointments come
//! from RNGs of their own, so they change none of it.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::companies_house::{Company, Register, etag};

/// SplitMix64: tiny, fast, and good enough for test data and fault draws.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below((hi - lo + 1) as usize) as u32
    }
}

/// The first synthetic company number.
pub const FIRST_SYNTHETIC_NUMBER: u32 = 20_000_000;

const NAME_A: &[&str] = &[
    "ALDER",
    "BIRCH",
    "CEDAR",
    "ELM",
    "HAZEL",
    "HOLLY",
    "LARCH",
    "MAPLE",
    "OAK",
    "ROWAN",
    "WILLOW",
    "YEW",
    "ASPEN",
    "BRACKEN",
    "HEATHER",
    "THISTLE",
    "SAFFRON",
    "INDIGO",
    "AMBER",
    "COBALT",
    "CRIMSON",
    "SILVER",
    "GOLDEN",
    "EMERALD",
    "SAPPHIRE",
    "GRANITE",
    "SLATE",
    "FLINT",
    "QUARTZ",
    "HARBOUR",
    "RIVERSIDE",
    "MEADOW",
    "VALLEY",
    "SUMMIT",
    "COASTAL",
    "HIGHLAND",
    "NORTHERN",
    "SOUTHERN",
    "EASTERN",
    "WESTERN",
    "CENTRAL",
    "PIONEER",
    "BEACON",
    "ANCHOR",
    "COMPASS",
    "KESTREL",
    "FALCON",
    "HERON",
    "OSPREY",
    "PHOENIX",
    "ORION",
    "VEGA",
    "NOVA",
    "ZENITH",
    "APEX",
    "VERTEX",
    "PINNACLE",
    "HORIZON",
    "MERIDIAN",
    "CASCADE",
];
const NAME_B: &[&str] = &[
    "ACCOUNTING",
    "ARCHITECTS",
    "BAKERY",
    "BUILDERS",
    "CARE",
    "CATERING",
    "CONSULTING",
    "CONSTRUCTION",
    "DATA",
    "DENTAL",
    "DESIGN",
    "DIGITAL",
    "ELECTRICAL",
    "ENERGY",
    "ENGINEERING",
    "ESTATES",
    "EVENTS",
    "FABRICATION",
    "FINANCE",
    "FITNESS",
    "FOODS",
    "FREIGHT",
    "FURNITURE",
    "GARDENS",
    "HEALTHCARE",
    "HOMES",
    "INTERIORS",
    "INVESTMENTS",
    "JOINERY",
    "LANDSCAPES",
    "LEISURE",
    "LOGISTICS",
    "MARKETING",
    "MEDIA",
    "MOTORS",
    "PACKAGING",
    "PLUMBING",
    "PRINTING",
    "PROPERTIES",
    "RECRUITMENT",
    "RENEWABLES",
    "RETAIL",
    "ROOFING",
    "SECURITY",
    "SOFTWARE",
    "SOLUTIONS",
    "SURVEYORS",
    "SYSTEMS",
    "TECHNOLOGIES",
    "TEXTILES",
    "TRADING",
    "TRAINING",
    "TRANSPORT",
    "TRAVEL",
    "VENTURES",
    "VETERINARY",
    "WHOLESALE",
    "WORKS",
    "ANALYTICS",
    "STUDIOS",
];
const NAME_C: &[&str] = &[
    "",
    "",
    "",
    "",
    "GROUP",
    "HOLDINGS",
    "SERVICES",
    "PARTNERS",
    "UK",
    "INTERNATIONAL",
    "(NORTH)",
    "(SOUTH)",
    "& CO",
    "AND SONS",
    "SUPPLIES",
    "MANAGEMENT",
];
const FORENAMES: &[&str] = &[
    "James",
    "Oliver",
    "Amelia",
    "Isla",
    "Harry",
    "Sophie",
    "Mohammed",
    "Aisha",
    "Thomas",
    "Eleanor",
    "Gareth",
    "Rhiannon",
    "Fiona",
    "Callum",
    "Siobhán",
    "Niamh",
    "Patrick",
    "Priya",
    "Rajesh",
    "Wei",
    "Agnieszka",
    "Tomasz",
    "José",
    "María",
    "Björn",
    "Zoë",
    "Chukwuemeka",
    "Adaeze",
    "Hamish",
    "Catriona",
    "Dylan",
    "Megan",
    "Kwame",
    "Yusuf",
    "Hannah",
    "Rebecca",
    "Daniel",
    "Matthew",
    "Lucy",
    "Grace",
    "Ewan",
    "Seren",
    "Aled",
    "Bethan",
    "Declan",
    "Orla",
];
const MIDDLES: &[&str] = &[
    "",
    "",
    "",
    "John",
    "Anne",
    "Elizabeth",
    "David",
    "Louise",
    "Marie",
];
const SURNAMES: &[&str] = &[
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Johnson",
    "Lewis",
    "Walker",
    "Robinson",
    "Wood",
    "Thompson",
    "White",
    "Watson",
    "Jackson",
    "Wright",
    "Green",
    "Harris",
    "Cooper",
    "King",
    "Lee",
    "Martin",
    "Clarke",
    "Morgan",
    "Hughes",
    "McAllister",
    "McDonald",
    "MacLeod",
    "O'Brien",
    "O'Sullivan",
    "Smythe-Walker",
    "Forbes-Hamilton",
    "Núñez",
    "Müller",
    "Zhang",
    "Okafor",
    "Patel",
    "Nguyen",
    "Kowalski",
    "Ahmed",
    "Khan",
    "Singh",
    "Öztürk",
    "Fitzgerald",
    "Llewellyn",
    "Campbell",
];
const TOWNS: &[(&str, &str, &str)] = &[
    ("Leeds", "West Yorkshire", "LS1"),
    ("Manchester", "Greater Manchester", "M1"),
    ("Bristol", "", "BS1"),
    ("Cardiff", "South Glamorgan", "CF10"),
    ("Glasgow", "", "G1"),
    ("Norwich", "Norfolk", "NR1"),
    ("Exeter", "Devon", "EX1"),
    ("York", "North Yorkshire", "YO1"),
    ("Nottingham", "Nottinghamshire", "NG1"),
    ("Brighton", "East Sussex", "BN1"),
    ("Belfast", "County Antrim", "BT1"),
    ("London", "", "EC1A"),
];
const STREETS: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Market Place",
    "King Street",
    "Queen Street",
    "Bridge Street",
];
const OCCUPATIONS: &[&str] = &[
    "Director",
    "Company Director",
    "Accountant",
    "Engineer",
    "Managing Director",
    "Consultant",
    "Finance Director",
    "Sales Director",
];

fn date(rng: &mut SplitMix64, from_year: u32, to_year: u32) -> String {
    format!(
        "{}-{:02}-{:02}",
        rng.range(from_year, to_year),
        rng.range(1, 12),
        rng.range(1, 28)
    )
}

/// Opaque 27-character ids like the real officer and PSC ids.
fn opaque_id(rng: &mut SplitMix64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..27)
        .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
        .collect()
}

struct Person {
    forename: &'static str,
    middle: &'static str,
    surname: &'static str,
    dob: (u32, u32),
}

impl Person {
    fn officer_name(&self) -> String {
        let mut name = format!("{}, {}", self.surname.to_uppercase(), self.forename);
        if !self.middle.is_empty() {
            name.push(' ');
            name.push_str(self.middle);
        }
        name
    }
}

impl Register {
    /// `n` synthetic companies with officers and PSCs, unique names, numbers
    /// from [`FIRST_SYNTHETIC_NUMBER`], people with appointments in several
    /// of them (see the module doc); the same `(n, seed)` gives the same register.
    pub fn synthetic(n: usize, seed: u64) -> Register {
        let companies: Vec<Company> = SyntheticCompanies::new(n, seed).collect();
        // Unique numbers and non-empty names by construction.
        Register::from_companies(companies).unwrap_or_default()
    }
}

/// The synthetic companies one at a time, as `Register::synthetic`
/// makes them (same seed, same companies), for registers too big to hold
/// (the 5.7 million rows of a benchmark bulk file).
pub struct SyntheticCompanies {
    rng: SplitMix64,
    names: HashSet<String>,
    next: usize,
    n: usize,
    seed: u64,
}

impl SyntheticCompanies {
    pub fn new(n: usize, seed: u64) -> SyntheticCompanies {
        SyntheticCompanies {
            rng: SplitMix64::new(seed ^ 0x5eed_c0de),
            names: HashSet::with_capacity(n.min(1 << 20)),
            next: 0,
            n,
            seed,
        }
    }
}

impl Iterator for SyntheticCompanies {
    type Item = Company;

    fn next(&mut self) -> Option<Company> {
        if self.next >= self.n {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let rng = &mut self.rng;
        let number = format!("{:08}", FIRST_SYNTHETIC_NUMBER as usize + i);
        let mut base = String::new();
        for attempt in 0.. {
            let a = rng.pick(NAME_A);
            let b = rng.pick(NAME_B);
            let c = rng.pick(NAME_C);
            base = [a, b, c]
                .iter()
                .filter(|w| !w.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            if attempt > 8 {
                // The word lists run out near 60k names. Real names mostly
                // carry a word of their own (a surname, a coined brand), rare
                // across the register: one in place of the first word, and
                // sometimes a second.
                let mut words = vec![coined_word(rng)];
                if rng.below(4) == 0 {
                    words.push(coined_word(rng));
                }
                if rng.below(5) != 0 {
                    words.push(b.to_owned());
                }
                if !c.is_empty() {
                    words.push(c.to_owned());
                }
                base = words.join(" ");
            }
            if attempt > 40 {
                // A last resort that keeps the loop finite.
                base = format!("{base} {}", i + 1);
            }
            if !self.names.contains(&base) {
                break;
            }
        }
        self.names.insert(base.clone());
        let mut company = synthetic_company(rng, &number, &base);
        append_shared_people(&mut company, i, self.n, self.seed);
        Some(company)
    }
}

/// Syllables of the coined words.
const SYLLABLES: &[&str] = &[
    "KA", "RO", "VEN", "LI", "MAR", "TIS", "DO", "BEL", "QUA", "NOR", "SEN", "VI", "LO", "TAR",
    "MI", "ZEN", "PA", "REL", "CO", "DAN", "FI", "GOR", "HU", "JAS", "KE", "LUN", "MO", "NEX",
    "OR", "PRY", "SA", "TEL", "U", "VOR", "WYN", "XA", "YEL", "ZO", "BRI", "CAL",
];
/// Distinct coined words the generator draws from.
const COINED: f64 = 3_000_000.0;
/// How flat the head of their distribution is: the most common coined word
/// is in about 1 name in 2,800 (real registers' commonest surnames and
/// place names are in a few thousand names each).
const COINED_HEAD: f64 = 300.0;

/// A word of its own for a name: the `i`th of [`COINED`] words, drawn with
/// probability falling as `1 / (i + COINED_HEAD)`, as word frequencies do
/// (Zipf), so most are rare and a few are in thousands of names.
fn coined_word(rng: &mut SplitMix64) -> String {
    let u = rng.next_f64();
    let i = (COINED_HEAD * ((COINED / COINED_HEAD + 1.0).powf(u) - 1.0)) as u64;
    let base = SYLLABLES.len() as u64;
    // Two syllables at least.
    let mut n = i + base;
    let mut word = String::new();
    while n > 0 {
        word.push_str(SYLLABLES[(n % base) as usize]);
        n /= base;
    }
    word
}

fn synthetic_company(rng: &mut SplitMix64, number: &str, base: &str) -> Company {
    let roll = rng.below(100);
    let (designator, kind) = match roll {
        0..=59 => ("LIMITED", "ltd"),
        60..=89 => ("LTD", "ltd"),
        90..=94 => ("PLC", "plc"),
        _ => ("LLP", "llp"),
    };
    let name = format!("{base} {designator}");
    let created = date(rng, 1995, 2023);
    let dissolved = rng.below(10) == 0;
    let ceased = dissolved.then(|| date(rng, created[..4].parse().unwrap_or(2023) + 1, 2025));
    let (town, region, outward) = TOWNS[rng.below(TOWNS.len())];
    let postcode = format!(
        "{outward} {}{}{}",
        rng.range(1, 9),
        (b'A' + rng.below(26) as u8) as char,
        (b'A' + rng.below(26) as u8) as char
    );
    let country = match outward {
        "BT1" => "Northern Ireland",
        "G1" => "Scotland",
        "CF10" => "Wales",
        _ => "England",
    };
    let mut office = json!({
        "premises": rng.range(1, 250).to_string(),
        "address_line_1": rng.pick(STREETS),
        "locality": town,
        "postal_code": postcode,
        "country": country,
    });
    if !region.is_empty() {
        office["region"] = json!(region);
    }
    let status = if dissolved { "dissolved" } else { "active" };
    let sic = [
        "62020", "70229", "41202", "56101", "68209", "47910", "43210", "86900",
    ][rng.below(8)];
    let mut profile = json!({
        "company_name": name,
        "company_number": number,
        "type": kind,
        "company_status": status,
        "date_of_creation": created,
        "jurisdiction": "england-wales",
        "registered_office_address": office,
        "sic_codes": [sic],
        "can_file": !dissolved,
        "has_charges": false,
        "has_insolvency_history": false,
        "etag": etag(&["profile", number]),
        "links": {
            "self": format!("/company/{number}"),
            "officers": format!("/company/{number}/officers"),
            "filing_history": format!("/company/{number}/filing-history"),
        },
    });
    if let Some(ceased) = &ceased {
        profile["date_of_cessation"] = json!(ceased);
    }

    let llp = kind == "llp";
    let people: Vec<Person> = (0..rng.range(1, 6))
        .map(|_| Person {
            forename: rng.pick(FORENAMES),
            middle: rng.pick(MIDDLES),
            surname: rng.pick(SURNAMES),
            dob: (rng.range(1945, 1998), rng.range(1, 12)),
        })
        .collect();
    let created_year: u32 = created[..4].parse().unwrap_or(2000);
    let mut officers: Vec<Value> = Vec::new();
    for (k, p) in people.iter().enumerate() {
        let role = match (llp, k) {
            (true, 0 | 1) => "llp-designated-member",
            (true, _) => "llp-member",
            (false, _) if k > 0 && rng.below(6) == 0 => "secretary",
            _ => "director",
        };
        let appointed = if k == 0 {
            created.clone()
        } else {
            date(rng, created_year, 2024.max(created_year))
        };
        let resigned = match &ceased {
            Some(c) => Some(c.clone()),
            None if k > 0 && rng.below(4) == 0 => Some(date(rng, 2024, 2025)),
            None => None,
        };
        let id = opaque_id(rng);
        let mut o = json!({
            "name": p.officer_name(),
            "officer_role": role,
            "appointed_on": appointed,
            "nationality": "British",
            "address": office,
            "links": {
                "self": format!("/company/{number}/appointments/{}", opaque_id(rng)),
                "officer": { "appointments": format!("/officers/{id}/appointments") },
            },
        });
        if role != "secretary" {
            o["date_of_birth"] = json!({ "month": p.dob.1, "year": p.dob.0 });
            o["country_of_residence"] = json!("United Kingdom");
            if !llp {
                o["occupation"] = json!(rng.pick(OCCUPATIONS));
            }
        }
        if let Some(r) = resigned {
            o["resigned_on"] = json!(r);
        }
        officers.push(o);
    }

    let mut pscs: Vec<Value> = Vec::new();
    if !dissolved && rng.below(4) != 0 {
        // Usually the first director is also the PSC, as in small companies.
        for p in people.iter().take(rng.range(1, 2) as usize) {
            let title = ["Mr", "Mrs", "Ms", "Dr", "Miss"][rng.below(5)];
            let mut elements =
                json!({ "title": title, "forename": p.forename, "surname": p.surname });
            let mut full = format!("{title} {}", p.forename);
            if !p.middle.is_empty() {
                elements["middle_name"] = json!(p.middle);
                full.push(' ');
                full.push_str(p.middle);
            }
            full.push(' ');
            full.push_str(p.surname);
            let natures = if llp {
                json!([
                    "right-to-share-surplus-assets-25-to-50-percent-limited-liability-partnership"
                ])
            } else {
                json!([
                    "ownership-of-shares-25-to-50-percent",
                    "voting-rights-25-to-50-percent"
                ])
            };
            pscs.push(json!({
                "kind": "individual-person-with-significant-control",
                "name": full,
                "name_elements": elements,
                "date_of_birth": { "month": p.dob.1, "year": p.dob.0 },
                "nationality": "British",
                "country_of_residence": "United Kingdom",
                "address": office,
                "natures_of_control": natures,
                "notified_on": created.clone().max("2016-04-06".to_owned()),
                "etag": etag(&["psc", number, &full]),
                "links": {
                    "self": format!("/company/{number}/persons-with-significant-control/individual/{}", opaque_id(rng))
                },
            }));
        }
        profile["links"]["persons_with_significant_control"] = json!(format!(
            "/company/{number}/persons-with-significant-control"
        ));
    }
    Company {
        profile,
        officers,
        persons_with_significant_control: pscs,
        psc_statements: Vec::new(),
        search_item: None,
    }
}

// ---------------------------------------------------------------------------
// People with appointments in several synthetic companies (see the module
// doc). Drawn from RNGs of their own, so the companies' own records are
// those of a register without them.

/// Consecutive companies per pool group; a pooled person's companies are
/// all in one group.
pub const POOL_GROUP: usize = 1000;
/// Blocks per group: block `r` holds the group's companies `r`, `r + 20`, ...
pub const POOL_STRIDE: usize = 20;
/// Companies per block.
const POOL_BLOCK: usize = POOL_GROUP / POOL_STRIDE;
/// Pooled people per block: 5 people of 2 to 6 appointments (4 on average)
/// are 20 appointments per 50 companies, beside the companies' own ~175.
pub const POOL_PEOPLE_PER_BLOCK: usize = 5;
/// The register size from which [`shared_person`] exists.
pub const SHARED_PERSON_MIN_COMPANIES: usize = 300;
/// [`shared_person`] is appointed in the first this many companies.
pub const SHARED_PERSON_SPAN: usize = 360;

const POOL_SALT: u64 = 0x9e0_0150_7e0b_1e5d;
const APPOINTMENT_SALT: u64 = 0xa990_1a7e_d000_0001;
const SHARED_SALT: u64 = 0x5ba2_ed00_0300_0360;

/// A person with appointments in several synthetic companies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedPerson {
    /// The opaque id of `/officers/{officer_id}/appointments`.
    pub officer_id: String,
    /// As the officer lists show it: `"SURNAME, Forenames"`.
    pub name: String,
    /// `(year, month)`.
    pub date_of_birth: (u32, u32),
    /// The numbers of the companies of an `n`-company register that list
    /// them, in register order.
    pub company_numbers: Vec<String>,
}

impl SharedPerson {
    /// `/officers/{officer_id}/appointments`.
    pub fn appointments_path(&self) -> String {
        format!("/officers/{}/appointments", self.officer_id)
    }
}

/// Who a shared person is, in every company.
struct Identity {
    person: Person,
    occupation: &'static str,
    officer_id: String,
}

/// A seed for `(a, b)`: two SplitMix64 finalisations, so nearby inputs give
/// unrelated streams.
fn mix(a: u64, b: u64) -> u64 {
    let x = SplitMix64::new(a).next_u64();
    SplitMix64::new(x ^ b).next_u64()
}

/// The number of pooled people of an `n`-company register (some, near the
/// end, may hold fewer than two of its appointments).
pub fn pooled_people(n: usize) -> usize {
    n.div_ceil(POOL_GROUP) * POOL_STRIDE * POOL_PEOPLE_PER_BLOCK
}

/// Pooled person `p`'s block (`group * POOL_STRIDE + r`) and positions in
/// it (distinct, 2 to 6), then the RNG their identity is drawn from.
fn pool_slots(seed: u64, p: usize) -> (usize, Vec<usize>, SplitMix64) {
    let mut rng = SplitMix64::new(mix(seed ^ POOL_SALT, p as u64));
    let k = rng.range(2, 6) as usize;
    let mut slots: Vec<usize> = Vec::with_capacity(k);
    while slots.len() < k {
        let t = rng.below(POOL_BLOCK);
        if !slots.contains(&t) {
            slots.push(t);
        }
    }
    (p / POOL_PEOPLE_PER_BLOCK, slots, rng)
}

/// The company index of position `t` of `block`.
fn block_company(block: usize, t: usize) -> usize {
    let (group, r) = (block / POOL_STRIDE, block % POOL_STRIDE);
    group * POOL_GROUP + t * POOL_STRIDE + r
}

fn pool_identity(rng: &mut SplitMix64) -> Identity {
    Identity {
        person: Person {
            forename: rng.pick(FORENAMES),
            middle: rng.pick(MIDDLES),
            surname: rng.pick(SURNAMES),
            dob: (rng.range(1945, 1990), rng.range(1, 12)),
        },
        occupation: rng.pick(OCCUPATIONS),
        officer_id: opaque_id(rng),
    }
}

fn shared_identity(seed: u64) -> Identity {
    let mut rng = SplitMix64::new(mix(seed ^ SHARED_SALT, 0));
    Identity {
        // A name none of the drawn officers has, so it is easy to spot.
        person: Person {
            forename: "Alistair",
            middle: "Quentin",
            surname: "Pemberton-Hale",
            dob: (1958, 6),
        },
        occupation: "Company Director",
        officer_id: opaque_id(&mut rng),
    }
}

/// Pooled person `p` (`0..pooled_people(n)`) of the `n`-company register of
/// `seed`, with the companies of that register that list them.
pub fn pooled_person(n: usize, seed: u64, p: usize) -> SharedPerson {
    let (block, slots, mut rng) = pool_slots(seed, p);
    let who = pool_identity(&mut rng);
    let mut companies: Vec<usize> = slots
        .iter()
        .map(|&t| block_company(block, t))
        .filter(|&i| i < n)
        .collect();
    companies.sort_unstable();
    shared(&who, companies)
}

/// The person appointed in the first [`SHARED_PERSON_SPAN`] companies of
/// the `n`-company register of `seed`; `None` below
/// [`SHARED_PERSON_MIN_COMPANIES`] companies.
pub fn shared_person(n: usize, seed: u64) -> Option<SharedPerson> {
    (n >= SHARED_PERSON_MIN_COMPANIES).then(|| {
        shared(
            &shared_identity(seed),
            (0..n.min(SHARED_PERSON_SPAN)).collect(),
        )
    })
}

fn shared(who: &Identity, companies: Vec<usize>) -> SharedPerson {
    SharedPerson {
        officer_id: who.officer_id.clone(),
        name: who.person.officer_name(),
        date_of_birth: who.person.dob,
        company_numbers: companies
            .into_iter()
            .map(|i| format!("{:08}", FIRST_SYNTHETIC_NUMBER as usize + i))
            .collect(),
    }
}

/// Append to company `i` of an `n`-company register the appointments of
/// the shared people it has: its block's pooled people, then [`shared_person`].
fn append_shared_people(company: &mut Company, i: usize, n: usize, seed: u64) {
    let (group, within) = (i / POOL_GROUP, i % POOL_GROUP);
    let (r, t) = (within % POOL_STRIDE, within / POOL_STRIDE);
    let block = group * POOL_STRIDE + r;
    for j in 0..POOL_PEOPLE_PER_BLOCK {
        let p = block * POOL_PEOPLE_PER_BLOCK + j;
        let (_, slots, mut rng) = pool_slots(seed, p);
        if slots.contains(&t) {
            let who = pool_identity(&mut rng);
            let mut rng = SplitMix64::new(mix(mix(seed ^ APPOINTMENT_SALT, p as u64), i as u64));
            appoint(company, &who, &mut rng);
        }
    }
    if n >= SHARED_PERSON_MIN_COMPANIES && i < SHARED_PERSON_SPAN {
        let who = shared_identity(seed);
        let mut rng = SplitMix64::new(mix(seed ^ SHARED_SALT, 1 + i as u64));
        appoint(company, &who, &mut rng);
    }
}

/// The last day appointments are drawn up to, and resignations.
const LAST_APPOINTED: &str = "2024-12-31";
const LAST_RESIGNED: &str = "2025-06-30";

/// Appoint `who` in `company`, shaped like its own officers: a director (a
/// member in an LLP) appointed after incorporation, resigned when the
/// company is dissolved (on dissolution) and else one time in four.
fn appoint(company: &mut Company, who: &Identity, rng: &mut SplitMix64) {
    let p = &company.profile;
    let number = p["company_number"].as_str().unwrap_or_default().to_owned();
    let llp = p["type"] == "llp";
    let created = p["date_of_creation"].as_str().unwrap_or("2000-01-01");
    let ceased = p["date_of_cessation"].as_str().map(str::to_owned);
    let office = p["registered_office_address"].clone();
    let role = match (llp, rng.below(2)) {
        (true, 0) => "llp-designated-member",
        (true, _) => "llp-member",
        _ => "director",
    };
    let last = ceased
        .as_deref()
        .unwrap_or(LAST_APPOINTED)
        .min(LAST_APPOINTED);
    let appointed = date_between(rng, created, last);
    let resigned = match ceased {
        Some(c) => Some(c),
        None if rng.below(4) == 0 => day_number(&appointed)
            .map(|d| iso_date(d + 1))
            .filter(|from| from.as_str() <= LAST_RESIGNED)
            .map(|from| date_between(rng, &from, LAST_RESIGNED)),
        None => None,
    };
    let mut o = json!({
        "name": who.person.officer_name(),
        "officer_role": role,
        "appointed_on": appointed,
        "nationality": "British",
        "address": office,
        "links": {
            "self": format!("/company/{number}/appointments/{}", opaque_id(rng)),
            "officer": { "appointments": format!("/officers/{}/appointments", who.officer_id) },
        },
        "date_of_birth": { "month": who.person.dob.1, "year": who.person.dob.0 },
        "country_of_residence": "United Kingdom",
    });
    if !llp {
        o["occupation"] = json!(who.occupation);
    }
    if let Some(r) = resigned {
        o["resigned_on"] = json!(r);
    }
    company.officers.push(o);
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
fn day_number(iso: &str) -> Option<i64> {
    let mut parts = iso.get(..10)?.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// The `YYYY-MM-DD` of a [`day_number`].
fn iso_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day from `from` to `to` (inclusive; `from` when `to` is earlier).
fn date_between(rng: &mut SplitMix64, from: &str, to: &str) -> String {
    match (day_number(from), day_number(to)) {
        (Some(a), Some(b)) if b > a => iso_date(a + rng.below((b - a + 1) as usize) as i64),
        _ => from.get(..10).unwrap_or(from).to_owned(),
    }
}

// ---------------------------------------------------------------------------
// Records for the changes the fake streaming API publishes (`stream.rs`).
// They draw from their own RNGs, so the registers above are unaffected.

fn person(rng: &mut SplitMix64) -> Person {
    Person {
        forename: rng.pick(FORENAMES),
        middle: rng.pick(MIDDLES),
        surname: rng.pick(SURNAMES),
        dob: (rng.range(1950, 2000), rng.range(1, 12)),
    }
}

/// A new director's `officerSummary`, appointed on `today`, shaped like the
/// bundled items (name as "SURNAME, Forenames", links to the appointment
/// and to the officer's appointments).
pub(crate) fn new_director(
    rng: &mut SplitMix64,
    number: &str,
    address: &Value,
    today: &str,
) -> Value {
    let p = person(rng);
    let appointment = opaque_id(rng);
    let officer = opaque_id(rng);
    json!({
        "name": p.officer_name(),
        "officer_role": "director",
        "appointed_on": today,
        "date_of_birth": { "month": p.dob.1, "year": p.dob.0 },
        "nationality": "British",
        "country_of_residence": "United Kingdom",
        "occupation": rng.pick(OCCUPATIONS),
        "address": address,
        "links": {
            "self": format!("/company/{number}/appointments/{appointment}"),
            "officer": { "appointments": format!("/officers/{officer}/appointments") },
        },
    })
}

/// A newly notified individual PSC (notified on `today`), shaped like the
/// bundled items.
pub(crate) fn new_individual_psc(
    rng: &mut SplitMix64,
    number: &str,
    address: &Value,
    today: &str,
) -> Value {
    let p = person(rng);
    let title = ["Mr", "Mrs", "Ms", "Dr", "Miss"][rng.below(5)];
    let mut elements = json!({ "title": title, "forename": p.forename, "surname": p.surname });
    let mut full = format!("{title} {}", p.forename);
    if !p.middle.is_empty() {
        elements["middle_name"] = json!(p.middle);
        full.push(' ');
        full.push_str(p.middle);
    }
    full.push(' ');
    full.push_str(p.surname);
    let share = ["25-to-50-percent", "50-to-75-percent", "75-to-100-percent"][rng.below(3)];
    let id = opaque_id(rng);
    json!({
        "kind": "individual-person-with-significant-control",
        "name": full,
        "name_elements": elements,
        "date_of_birth": { "month": p.dob.1, "year": p.dob.0 },
        "nationality": "British",
        "country_of_residence": "United Kingdom",
        "address": address,
        "natures_of_control": [
            format!("ownership-of-shares-{share}"),
            format!("voting-rights-{share}"),
        ],
        "notified_on": today,
        "etag": etag(&["psc", number, &full, &id]),
        "links": {
            "self": format!("/company/{number}/persons-with-significant-control/individual/{id}")
        },
    })
}

/// A newly notified PSC statement (`pscModels.json#statement`, members in
/// the order of the bundled items): `statement` is a
/// `statement_description` key of psc_descriptions.yml, notified on
/// `notified_on`, with a new opaque id.
pub(crate) fn new_psc_statement(
    rng: &mut SplitMix64,
    number: &str,
    statement: &str,
    notified_on: &str,
) -> Value {
    let id = opaque_id(rng);
    json!({
        "kind": "persons-with-significant-control-statement",
        "statement": statement,
        "notified_on": notified_on,
        "etag": etag(&["psc-statement", number, statement, &id]),
        "links": {
            "self": format!("/company/{number}/persons-with-significant-control-statements/{id}")
        },
    })
}

/// A new registered office street address: `(premises, address_line_1)`.
pub(crate) fn new_street(rng: &mut SplitMix64) -> (String, String) {
    (rng.range(1, 250).to_string(), rng.pick(STREETS).to_owned())
}

/// A company that is not on the register (the stream's background traffic
/// is mostly about companies a client never asked for), with at least one
/// officer and one PSC; the same `(number, seed)` gives the same company.
pub(crate) fn outside_company(number: &str, seed: u64) -> Company {
    let mut rng = SplitMix64::new(seed ^ 0x0a4b_1e47);
    let base = [rng.pick(NAME_A), rng.pick(NAME_B), rng.pick(NAME_C)]
        .iter()
        .filter(|w| !w.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let mut company = synthetic_company(&mut rng, number, &base);
    if company.persons_with_significant_control.is_empty() {
        let address = company.profile["registered_office_address"].clone();
        let notified = company.profile["date_of_creation"]
            .as_str()
            .unwrap_or("2016-04-06")
            .max("2016-04-06")
            .to_owned();
        let psc = new_individual_psc(&mut rng, number, &address, &notified);
        company.persons_with_significant_control.push(psc);
    }
    company
}
