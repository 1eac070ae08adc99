//! Numbers for people: sizes in binary units, durations in the unit that reads best.

use std::time::Duration;

/// A byte count in binary units with three significant digits: `0 B`, `512 B`, `4.00 KiB`,
/// `12.3 MiB`, `1.50 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    let digits = if v >= 100.0 { 0 } else if v >= 10.0 { 1 } else { 2 };
    format!("{v:.digits$} {}", UNITS[u])
}

/// A duration in the unit that reads best: `850 µs`, `12.4 ms`, `3.20 s`, `2 min 05 s`.
pub fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        let ms = us as f64 / 1000.0;
        if ms >= 100.0 { format!("{ms:.0} ms") } else { format!("{ms:.1} ms") }
    } else if us < 60_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        let s = us / 1_000_000;
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(4096), "4.00 KiB");
        assert_eq!(bytes(10 << 20), "10.0 MiB");
        assert_eq!(bytes(1536 << 20), "1.50 GiB");
        assert_eq!(bytes(300 << 30), "300 GiB");
        assert_eq!(bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Duration::from_micros(850)), "850 µs");
        assert_eq!(duration(Duration::from_micros(12_400)), "12.4 ms");
        assert_eq!(duration(Duration::from_millis(3200)), "3.20 s");
        assert_eq!(duration(Duration::from_secs(125)), "2 min 05 s");
    }
}
