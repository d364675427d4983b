//! A strict parser of the Prometheus text format (0.0.4), for tests: it
//! rejects what a scraper would reject (samples before their `# TYPE`, a
//! family declared twice, bad names, unescaped quotes, non-numbers,
//! histogram buckets out of order or not cumulative, a missing `+Inf`).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

/// One sample: name, labels, value.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: family types and samples in order.
#[derive(Debug, Default)]
pub struct Exposition {
    pub types: HashMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Exposition {
    /// The value of the one sample named `name` with `labels` among its labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{labels:?}, found {found:?}"
        );
        found[0].value
    }
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count`).
fn family_of<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if types.get(base).map(String::as_str) == Some("histogram") {
                return Some(base);
            }
        }
    }
    None
}

pub fn parse(text: &str) -> Result<Exposition, String> {
    let mut out = Exposition::default();
    let mut helps = HashMap::new();
    let mut closed: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    if !text.ends_with('\n') {
        return Err("the exposition must end with a newline".into());
    }
    for (i, line) in text.lines().enumerate() {
        let at = |m: &str| format!("line {}: {m}: {line:?}", i + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, tail) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            if !valid_name(name) {
                return Err(at("bad metric name"));
            }
            match kw {
                "HELP" => {
                    let again = helps.insert(name.to_owned(), tail.to_owned()).is_some();
                    if again {
                        return Err(at("HELP given twice"));
                    }
                }
                "TYPE" => {
                    if !matches!(
                        tail,
                        "counter" | "gauge" | "histogram" | "summary" | "untyped"
                    ) {
                        return Err(at("unknown type"));
                    }
                    if out.types.insert(name.to_owned(), tail.to_owned()).is_some() {
                        return Err(at("TYPE given twice"));
                    }
                    if let Some(prev) = current.replace(name.to_owned()) {
                        closed.push(prev);
                    }
                }
                _ => {}
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let sample = parse_sample(line).map_err(|e| at(&e))?;
        let family =
            family_of(&sample.name, &out.types).ok_or_else(|| at("sample without a # TYPE"))?;
        if current.as_deref() != Some(family) || closed.iter().any(|c| c == family) {
            return Err(at("sample outside its family's block"));
        }
        if out.types[family] == "counter" && sample.value < 0.0 {
            return Err(at("negative counter"));
        }
        out.samples.push(sample);
    }
    check_histograms(&out)?;
    Ok(out)
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad sample name".into());
    }
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        loop {
            let key_start = match chars.peek() {
                Some(&(_, '}')) => {
                    chars.next();
                    break;
                }
                Some(&(i, _)) => i,
                None => return Err("unterminated labels".into()),
            };
            let eq = body[key_start..].find('=').ok_or("label without =")? + key_start;
            let key = &body[key_start..eq];
            if !valid_name(key) || key.contains(':') {
                return Err(format!("bad label name {key:?}"));
            }
            while chars.peek().is_some_and(|&(i, _)| i <= eq) {
                chars.next();
            }
            if chars.next().map(|c| c.1) != Some('"') {
                return Err("label value must be quoted".into());
            }
            let mut value = String::new();
            loop {
                match chars.next().map(|c| c.1) {
                    Some('\\') => match chars.next().map(|c| c.1) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        _ => return Err("bad escape in label value".into()),
                    },
                    Some('"') => break,
                    Some('\n') | None => return Err("unterminated label value".into()),
                    Some(c) => value.push(c),
                }
            }
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("label {key:?} twice"));
            }
            match chars.next().map(|c| c.1) {
                Some(',') => {}
                Some('}') => break,
                _ => return Err("expected , or } after a label".into()),
            }
        }
        let consumed = chars.peek().map_or(body.len(), |&(i, _)| i);
        rest = &body[consumed..];
    }
    let rest = rest
        .strip_prefix(' ')
        .ok_or("expected a space before the value")?;
    let mut parts = rest.split(' ');
    let value = parts.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|_| format!("bad value {v:?}"))?,
    };
    if let Some(ts) = parts.next() {
        ts.parse::<i64>().map_err(|_| "bad timestamp")?;
    }
    if parts.next().is_some() {
        return Err("trailing text".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// Buckets ascending by `le`, cumulative, ending in `+Inf` equal to `_count`.
fn check_histograms(e: &Exposition) -> Result<(), String> {
    for (family, kind) in &e.types {
        if kind != "histogram" {
            continue;
        }
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for s in e
            .samples
            .iter()
            .filter(|s| s.name == format!("{family}_bucket"))
        {
            let mut rest = s.labels.clone();
            let le = rest
                .remove("le")
                .ok_or_else(|| format!("{family}_bucket without le"))?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().map_err(|_| format!("bad le {le:?}"))?
            };
            series
                .entry(format!("{rest:?}"))
                .or_default()
                .push((le, s.value));
        }
        if series.is_empty() {
            return Err(format!("histogram {family} has no buckets"));
        }
        for (labels, buckets) in series {
            for w in buckets.windows(2) {
                if w[1].0 <= w[0].0 || w[1].1 < w[0].1 {
                    return Err(format!(
                        "{family}{labels}: buckets not ascending and cumulative"
                    ));
                }
            }
            let last = buckets.last().expect("non-empty");
            if last.0 != f64::INFINITY {
                return Err(format!("{family}{labels}: no +Inf bucket"));
            }
            let count = e
                .samples
                .iter()
                .find(|s| {
                    s.name == format!("{family}_count") && format!("{:?}", s.labels) == labels
                })
                .ok_or_else(|| format!("{family}{labels}: no _count"))?;
            if count.value != last.1 {
                return Err(format!(
                    "{family}{labels}: _count {} != +Inf bucket {}",
                    count.value, last.1
                ));
            }
        }
    }
    Ok(())
}
