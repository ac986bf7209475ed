//! The result table: per client and broker, the medians of the samples and their ratios.

use std::fmt::Write as _;

use super::*;

#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) broker: Broker,
    pub(super) client: String,
    pub(super) runs: usize,
    pub(super) records_per_s: f64,
    pub(super) mb_per_s: f64,
    pub(super) cpu_per_million: f64,
    pub(super) rss_mib: f64,
}

pub(super) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        f64::midpoint(xs[n / 2 - 1], xs[n / 2])
    }
}

impl Row {
    pub(super) fn median(broker: Broker, client: &str, samples: &[Sample]) -> Row {
        let m = |f: fn(&Sample) -> f64| median(samples.iter().map(f).collect());
        Row {
            broker,
            client: client.to_string(),
            runs: samples.len(),
            records_per_s: m(Sample::records_per_s),
            mb_per_s: m(Sample::mb_per_s),
            cpu_per_million: m(Sample::cpu_per_million),
            rss_mib: m(Sample::rss_mib),
        }
    }
}

/// `1234567.8` as `1,234,568`.
pub(super) fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub(super) fn table(rows: &[Row], opts: &Options) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "medians; MB = 10^6 bytes of key+value; CPU = user+sys of the client process per \
         million records (lower is better); RSS = peak resident set (lower is better)"
    );
    let _ = writeln!(
        out,
        "{:<6} {:<22} {:>9} {:>5} {:>12} {:>8} {:>14} {:>13}",
        "broker", "client", "records", "runs", "records/s", "MB/s", "CPU s/M rec", "peak RSS MiB"
    );
    for &broker in &opts.brokers {
        let of = |c: &str| rows.iter().find(|r| r.broker == broker && r.client == c);
        for r in rows.iter().filter(|r| r.broker == broker) {
            let _ = writeln!(
                out,
                "{:<6} {:<22} {:>9} {:>5} {:>12} {:>8.1} {:>14.3} {:>13.1}",
                broker.name(),
                r.client,
                thousands(opts.records(broker) as f64),
                r.runs,
                thousands(r.records_per_s),
                r.mb_per_s,
                r.cpu_per_million,
                r.rss_mib
            );
        }
        for other in ["librdkafka", "java"] {
            if let (Some(f), Some(o)) = (of("ferrokafka"), of(other)) {
                let _ = writeln!(
                    out,
                    "{:<6} {:<22} {:>9} {:>5} {:>11.2}x {:>7.2}x {:>13.2}x {:>12.2}x",
                    broker.name(),
                    format!("ferrokafka/{other}"),
                    "",
                    "",
                    f.records_per_s / o.records_per_s,
                    f.mb_per_s / o.mb_per_s,
                    f.cpu_per_million / o.cpu_per_million,
                    f.rss_mib / o.rss_mib
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn medians_and_thousands() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }

    #[test]
    fn the_table_has_a_ratio_line_only_when_both_clients_ran() {
        let opts = Options::parse(&args("--brokers mock --records 1000000")).unwrap();
        let s = |seconds, cpu_s, kib| Sample {
            records: 1_000_000,
            stored: 1_000_000,
            seconds,
            cpu_s,
            peak_rss_kib: kib,
            transactions: 0,
            markers: 0,
            process_cpu_s: None,
        };
        let l = Row::median(Broker::Mock, "librdkafka", &[s(1.0, 1.0, 40 * 1024)]);
        let t = table(std::slice::from_ref(&l), &opts);
        assert!(t.contains("1,000,000"), "{t}");
        assert!(!t.contains("ferrokafka/librdkafka"), "{t}");
        let f = Row::median(Broker::Mock, "ferrokafka", &[s(0.5, 0.5, 20 * 1024)]);
        let t = table(&[l.clone(), f.clone()], &opts);
        assert!(t.contains("ferrokafka/librdkafka"), "{t}");
        assert!(!t.contains("ferrokafka/java"), "{t}");
        assert!(t.contains("2.00x"), "{t}");
        assert!(t.contains("0.50x"), "{t}");
        let j = Row::median(Broker::Mock, "java", &[s(2.0, 2.0, 80 * 1024)]);
        let t = table(&[l, f, j], &opts);
        assert!(t.contains("ferrokafka/java"), "{t}");
        assert!(t.contains("4.00x"), "{t}");
        assert!(t.contains("0.25x"), "{t}");
    }
}
