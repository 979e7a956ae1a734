//! The benchmark's baseline: what a hand-written sync script does to read a HubSpot object, with no
//! database in the way. It fetches every page of `GET {base}/crm/v3/objects/{object}?{query}` over one
//! keep-alive connection, following `paging.next.after`, and parses each body into serde_json values,
//! touching every field of every record. Prints records, pages, seconds and peak RSS.
//!
//! Usage: bench-baseline BASE_URL OBJECT TOKEN [QUERY]
//!   QUERY is the query string without `after`, e.g. `limit=100&properties=email,firstname`.

use std::time::Instant;

use serde_json::Value;

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Visit every scalar, as a client that uses the values would (and as Tether converts every column).
fn touch(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(touch).sum(),
        Value::Array(a) => a.iter().map(touch).sum(),
        Value::String(s) => s.len(),
        _ => 1,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench-baseline BASE_URL OBJECT TOKEN [QUERY]");
        std::process::exit(2);
    }
    let (base, object, token) = (&args[1], &args[2], &args[3]);
    let query = args.get(4).cloned().unwrap_or_else(|| "limit=100".to_string());
    let agent: ureq::Agent = ureq::Agent::config_builder().build().into();
    let started = Instant::now();
    let (mut records, mut pages, mut touched) = (0usize, 0usize, 0usize);
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}/crm/v3/objects/{object}?{query}");
        if let Some(a) = &after {
            url.push_str("&after=");
            url.push_str(a);
        }
        let body = agent
            .get(&url)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .and_then(|mut r| r.body_mut().with_config().limit(256 << 20).read_to_vec())
            .unwrap_or_else(|e| {
                eprintln!("request failed: {e}");
                std::process::exit(1)
            });
        let page: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            eprintln!("bad JSON: {e}");
            std::process::exit(1)
        });
        pages += 1;
        if let Some(results) = page.get("results").and_then(Value::as_array) {
            records += results.len();
            touched += results.iter().map(touch).sum::<usize>();
        }
        after = page.pointer("/paging/next/after").and_then(Value::as_str).map(str::to_string);
        if after.is_none() {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("records={records} pages={pages} touched={touched} seconds={secs:.3} peak_rss_kb={}", peak_rss_kb());
}
