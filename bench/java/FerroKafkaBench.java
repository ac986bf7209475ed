// The Java producer's side of `cargo xtask bench` (xtask/src/bench.rs compiles this file with
// javac against the Apache Kafka jars of the test harness and runs it once per measurement, like
// `bench-client`): the same workload as bench/src/lib.rs, with the same command line (the
// subset the orchestrator passes) and the same one-line JSON report.
//
// Not kafka-tools' ProducerPerformance (kafka-producer-perf-test): by default it sends keyless
// records (the sticky partitioner then fills one partition at a time, unlike the keyed workload
// here); 4.4's `--key-distribution range --record-key-range N` gives keys, but as decimal
// integers of varying length; it times every record for its latency histogram (work the other
// clients do not do), and reports neither CPU time nor peak RSS.
//
// Records: key = the record's index in decimal, zero-padded to --key-size bytes (a new array per
// record, as ferrokafka's side copies each key into a Bytes of its own); value = one of 1,024
// pseudo-random --value-size buffers from the same xorshift64* generator as bench/src/lib.rs
// (byte-identical, so compression sees the same input). Sends go through KafkaProducer.send with
// a callback counting deliveries (send blocks, as Java's producer does, when buffer.memory is
// full); then flush and close. Transactional runs: initTransactions, then per transaction
// beginTransaction, the sends, commitTransaction (which flushes first).
//
// Measured like bench-client measures itself: wall clock and this process's utime/stime from
// /proc/self/stat, read just before the producer is created and after it is closed; peak RSS is
// VmHWM from /proc/self/status at the end. `process_cpu_s` adds the whole JVM's CPU time up to
// the end (start-up and class loading included), for reference.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class FerroKafkaBench {
    private static final int POOL_VALUES = 1024;
    /** USER_HZ, the unit of /proc/PID/stat times (100 on every Linux we run on). */
    private static final double USER_HZ = 100.0;

    private static final AtomicLong DELIVERED = new AtomicLong();
    private static final AtomicLong FAILED = new AtomicLong();
    private static final AtomicReference<String> FIRST_ERROR = new AtomicReference<>();
    /** Partitions below 64 the current transaction wrote to, a bit each. */
    private static final AtomicLong PARTITION_BITS = new AtomicLong();
    private static final java.util.Set<Integer> PARTITIONS_HIGH =
        java.util.concurrent.ConcurrentHashMap.newKeySet();

    public static void main(String[] args) throws Exception {
        String bootstrap = null;
        String topic = null;
        long records = 1_000_000;
        int keySize = 10;
        int valueSize = 100;
        String acks = "all";
        long lingerMs = 5;
        long batchSize = 1_048_576;
        String compression = "none";
        String idempotence = "true";
        long transactionSize = 0;
        String transactionalId = null;
        long throughput = 0;
        List<String[]> extra = new ArrayList<>();
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                usage(args[i] + " needs a value");
            }
            String v = args[i + 1];
            switch (args[i]) {
                case "--bootstrap": bootstrap = v; break;
                case "--topic": topic = v; break;
                case "--records": records = Long.parseLong(v); break;
                case "--key-size": keySize = Integer.parseInt(v); break;
                case "--value-size": valueSize = Integer.parseInt(v); break;
                case "--acks": acks = v; break;
                case "--linger-ms": lingerMs = Long.parseLong(v); break;
                case "--batch-size": batchSize = Long.parseLong(v); break;
                case "--compression": compression = v; break;
                case "--idempotence": idempotence = v; break;
                case "--transaction-size": transactionSize = Long.parseLong(v); break;
                case "--transactional-id": transactionalId = v; break;
                case "--throughput": throughput = Long.parseLong(v); break;
                case "-X": {
                    int eq = v.indexOf('=');
                    if (eq < 0) {
                        usage("-X takes key=value, got " + v);
                    }
                    extra.add(new String[] {v.substring(0, eq), v.substring(eq + 1)});
                    break;
                }
                default: usage("unknown argument " + args[i]);
            }
        }
        if (bootstrap == null || topic == null || records <= 0 || keySize < 0) {
            usage("--bootstrap, --topic and positive --records are required (--key-size 0: "
                + "keyless)");
        }
        if (transactionSize > 0 && transactionalId == null) {
            transactionalId = "ferrokafka-bench-java-" + ProcessHandle.current().pid() + "-"
                + System.nanoTime();
        }

        Properties props = new Properties();
        props.put("bootstrap.servers", bootstrap);
        props.put("acks", acks);
        props.put("linger.ms", Long.toString(lingerMs));
        props.put("batch.size", Long.toString(batchSize));
        props.put("compression.type", compression);
        props.put("enable.idempotence", idempotence);
        if (transactionalId != null) {
            props.put("transactional.id", transactionalId);
        }
        for (String[] kv : extra) {
            props.put(kv[0], kv[1]);
        }
        byte[][] values = valuePool(valueSize);

        double[] cpuBefore = cpu();
        long started = System.nanoTime();
        long transactions = 0;
        long txnPartitions = 0;
        boolean transactional = transactionSize > 0;
        Callback callback = transactional ? FerroKafkaBench::onTransactionalCompletion
            : FerroKafkaBench::onCompletion;
        boolean timed = throughput > 0;
        try (KafkaProducer<byte[], byte[]> producer =
                 new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            // The topic's metadata first, within 20 s: against a broker this client cannot
            // talk to (librdkafka's mock: Kafka 4 clients no longer speak its old protocol
            // versions) every send would otherwise wait out max.block.ms and fail on its own.
            final String metadataTopic = topic;
            try {
                java.util.concurrent.CompletableFuture
                    .runAsync(() -> producer.partitionsFor(metadataTopic))
                    .get(20, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                System.err.println("no connection: java: no metadata for " + topic
                    + " within 20 s");
                System.exit(1);
            }
            long size = transactional ? transactionSize : records;
            if (transactional) {
                producer.initTransactions();
            }
            long at = 0;
            while (at < records) {
                long end = Math.min(records, at + size);
                if (transactional) {
                    producer.beginTransaction();
                }
                for (long i = at; i < end; i++) {
                    byte[] key = null;
                    if (keySize > 0) {
                        key = new byte[keySize];
                        long n = i;
                        for (int b = keySize - 1; b >= 0; b--) {
                            key[b] = (byte) ('0' + (int) (n % 10));
                            n /= 10;
                        }
                    }
                    ProducerRecord<byte[], byte[]> record =
                        new ProducerRecord<>(topic, key, values[(int) (i % POOL_VALUES)]);
                    if (timed) {
                        // Latency runs: record i is due i / throughput s after the start; its
                        // callback records send-to-delivery time.
                        long due = started + i * 1_000_000_000L / throughput;
                        long wait;
                        while ((wait = due - System.nanoTime()) > 0) {
                            java.util.concurrent.locks.LockSupport.parkNanos(
                                Math.min(wait, 1_000_000L));
                        }
                        long sentAt = System.nanoTime();
                        // The first second's records are not timed (start-up), as in
                        // bench/src/latency.rs LATENCY_WARMUP.
                        boolean counted = i >= throughput;
                        producer.send(record, (md, e) -> {
                            if (e == null && counted) {
                                LATENCIES.record((System.nanoTime() - sentAt) / 1000);
                            }
                            callback.onCompletion(md, e);
                        });
                    } else {
                        producer.send(record, callback);
                    }
                }
                if (transactional) {
                    producer.commitTransaction();
                    transactions++;
                    txnPartitions += Long.bitCount(PARTITION_BITS.getAndSet(0))
                        + PARTITIONS_HIGH.size();
                    PARTITIONS_HIGH.clear();
                }
                at = end;
            }
            producer.flush();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        double[] cpuAfter = cpu();
        long hwm = peakRssKib();
        String error = FIRST_ERROR.get();
        System.out.println("{\"client\":\"java\",\"records\":" + records
            + ",\"delivered\":" + DELIVERED.get()
            + ",\"failures\":" + FAILED.get()
            + ",\"first_error\":" + (error == null ? "null" : json(error))
            + ",\"seconds\":" + seconds
            + ",\"cpu_user_s\":" + (cpuAfter[0] - cpuBefore[0])
            + ",\"cpu_sys_s\":" + (cpuAfter[1] - cpuBefore[1])
            + ",\"process_cpu_s\":" + (cpuAfter[0] + cpuAfter[1])
            + ",\"peak_rss_kib\":" + hwm
            + ",\"transactions\":" + transactions
            + ",\"txn_partitions\":" + txnPartitions
            + (timed ? LATENCIES.json() : "") + "}");
    }

    private static final Histogram LATENCIES = new Histogram();

    /**
     * Delivery latencies in microseconds, bucketed as bench/src/latency.rs does (exact below
     * 128 us, then 64 buckets per power of two), quantiles at Java's rank floor(q * count).
     */
    private static final class Histogram {
        private final long[] counts = new long[128 + 57 * 64];
        private long count;
        private long max;

        synchronized void record(long us) {
            us = Math.max(0, us);
            int i;
            if (us < 128) {
                i = (int) us;
            } else {
                int msb = 63 - Long.numberOfLeadingZeros(us);
                int shift = msb - 6;
                i = (int) (128 + (msb - 7) * 64L + ((us >>> shift) - 64));
            }
            counts[i]++;
            count++;
            max = Math.max(max, us);
        }

        synchronized double quantileMs(double q) {
            if (count == 0) {
                return 0;
            }
            long rank = Math.min(count - 1, (long) (q * count));
            long seen = 0;
            for (int i = 0; i < counts.length; i++) {
                seen += counts[i];
                if (seen > rank) {
                    long lower = i < 128 ? i : ((i - 128) % 64 + 64L) << ((i - 128) / 64 + 1);
                    return Math.min(lower, max) / 1000.0;
                }
            }
            return max / 1000.0;
        }

        String json() {
            return ",\"latency_p50_ms\":" + quantileMs(0.5)
                + ",\"latency_p99_ms\":" + quantileMs(0.99)
                + ",\"latency_p999_ms\":" + quantileMs(0.999)
                + ",\"latency_max_ms\":" + (max / 1000.0);
        }
    }

    private static void onCompletion(RecordMetadata metadata, Exception e) {
        if (e == null) {
            DELIVERED.incrementAndGet();
        } else {
            FAILED.incrementAndGet();
            FIRST_ERROR.compareAndSet(null, e.toString());
        }
    }

    private static void onTransactionalCompletion(RecordMetadata metadata, Exception e) {
        onCompletion(metadata, e);
        if (e == null) {
            int p = metadata.partition();
            if (p >= 0 && p < 64) {
                long bit = 1L << p;
                if ((PARTITION_BITS.get() & bit) == 0) {
                    PARTITION_BITS.getAndUpdate(bits -> bits | bit);
                }
            } else {
                PARTITIONS_HIGH.add(p);
            }
        }
    }

    /** The value pool of bench/src/lib.rs `Workload::new`: xorshift64*, the top byte each. */
    private static byte[][] valuePool(int valueSize) {
        long state = 0x9E3779B97F4A7C15L;
        byte[][] values = new byte[POOL_VALUES][valueSize];
        for (byte[] value : values) {
            for (int j = 0; j < valueSize; j++) {
                state ^= state >>> 12;
                state ^= state << 25;
                state ^= state >>> 27;
                value[j] = (byte) ((state * 0x2545F4914F6CDD1DL) >>> 56);
            }
        }
        return values;
    }

    /** utime and stime of this process in seconds (fields 14 and 15 of /proc/self/stat). */
    private static double[] cpu() throws Exception {
        String stat = new String(Files.readAllBytes(Paths.get("/proc/self/stat")),
            StandardCharsets.US_ASCII);
        String[] fields = stat.substring(stat.lastIndexOf(") ") + 2).trim().split("\\s+");
        return new double[] {
            Long.parseLong(fields[11]) / USER_HZ, Long.parseLong(fields[12]) / USER_HZ
        };
    }

    /** VmHWM from /proc/self/status, in KiB. */
    private static long peakRssKib() throws Exception {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) {
                return Long.parseLong(line.substring(6).replace("kB", "").trim());
            }
        }
        throw new IllegalStateException("no VmHWM in /proc/self/status");
    }

    private static String json(String s) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"').toString();
    }

    private static void usage(String message) {
        System.err.println("FerroKafkaBench: " + message);
        System.err.println("usage: FerroKafkaBench --bootstrap HOST:PORT --topic T [--records N]"
            + " [--key-size N] [--value-size N] [--acks A] [--linger-ms N] [--batch-size N]"
            + " [--compression C] [--idempotence B] [--transaction-size N]"
            + " [--transactional-id ID] [-X key=value]...");
        System.exit(2);
    }
}
