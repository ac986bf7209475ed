// The harness's one long-lived Java process per test binary (see tests/src/kafka.rs).
//
// Two entry points, compiled together against the Apache Kafka jars the harness fetched:
//
// - `FerroKafkaHelper broker [--watch-stdin] FILE`: runs the broker (`kafka.Kafka FILE`); with
//   --watch-stdin it halts the JVM when its standard input closes, so a test binary that exits
//   (however it exits) never leaves a broker behind.
// - `FerroKafkaHelper serve`: reads one command per line on stdin (fields separated by tabs) and
//   answers with zero or more data lines followed by `ok` or `err MESSAGE`. It holds one Admin
//   client per bootstrap address. Binary data travels as lowercase hex, a null as `-`.
//
// Commands:
//   create-topic BOOT NAME PARTITIONS RF [k=v ...]      create and wait until every partition's leader serves it
//   describe BOOT TOPIC                                  part P LEADER REPLICAS(csv) ISR(csv) per partition
//   alter-topic BOOT TOPIC k=v [k=v ...]                 incremental topic config change
//   quota BOOT CLIENT_ID producer_byte_rate=N            client-id quota (N = - removes it)
//   reassign BOOT TOPIC PARTITION REPLICAS(csv)          reassign and wait until done
//   elect-preferred BOOT TOPIC PARTITION                 preferred leader election
//   committed BOOT GROUP                                 off TOPIC PARTITION OFFSET METADATA(hex|-) per partition
//   consume BOOT TOPIC ISOLATION EXPECTED TIMEOUT_MS     rec P OFFSET TS TSTYPE KEY VALUE HEADERS per record
//        (assigns every partition from the beginning, reads until EXPECTED records and every
//         partition's position reached its end offset — the last stable offset with read_committed)
//   scram-upsert BOOT USER MECHANISM PASSWORD            create or change a SCRAM credential (4096 iterations)
//   scram-delete BOOT USER MECHANISM                     delete a SCRAM credential
//   quit
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.*;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.*;
import org.apache.kafka.common.*;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.quota.*;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class FerroKafkaHelper {
    private static final Map<String, Admin> ADMINS = new HashMap<>();

    public static void main(String[] args) throws Exception {
        if (args.length >= 1 && args[0].equals("broker")) {
            broker(Arrays.copyOfRange(args, 1, args.length));
        } else if (args.length == 1 && args[0].equals("serve")) {
            serve();
        } else {
            System.err.println("usage: FerroKafkaHelper broker [--watch-stdin] FILE | serve");
            System.exit(2);
        }
    }

    private static void broker(String[] args) throws Exception {
        int i = 0;
        if (args.length > 0 && args[0].equals("--watch-stdin")) {
            i = 1;
            Thread watcher = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) { }
                } catch (Exception ignored) { }
                // The harness that started us is gone: no clean shutdown, nobody is waiting.
                Runtime.getRuntime().halt(3);
            }, "ferrokafka-stdin-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        kafka.Kafka.main(Arrays.copyOfRange(args, i, args.length));
    }

    private static void serve() throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        out.println("ready");
        out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t", -1);
            if (f[0].equals("quit")) break;
            try {
                run(f, out);
                out.println("ok");
            } catch (Throwable t) {
                Throwable c = t;
                while (c.getCause() != null && (c instanceof java.util.concurrent.ExecutionException
                        || c instanceof RuntimeException && c.getMessage() == null)) {
                    c = c.getCause();
                }
                out.println("err " + (c.getClass().getSimpleName() + ": " + c.getMessage()).replace('\n', ' '));
            }
            out.flush();
        }
        for (Admin a : ADMINS.values()) a.close(Duration.ofSeconds(2));
    }

    private static Admin admin(String boot) {
        return ADMINS.computeIfAbsent(boot, b -> {
            Properties p = new Properties();
            p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, b);
            p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
            p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
            return Admin.create(p);
        });
    }

    private static void run(String[] f, PrintStream out) throws Exception {
        switch (f[0]) {
            case "create-topic": createTopic(f); break;
            case "describe": describe(f, out); break;
            case "alter-topic": alterTopic(f); break;
            case "quota": quota(f); break;
            case "reassign": reassign(f); break;
            case "elect-preferred": electPreferred(f); break;
            case "committed": committed(f, out); break;
            case "consume": consume(f, out); break;
            case "scram-upsert": scramUpsert(f); break;
            case "scram-delete": scramDelete(f); break;
            default: throw new IllegalArgumentException("unknown command " + f[0]);
        }
    }

    private static Map<String, String> kv(String[] f, int from) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = from; i < f.length; i++) {
            if (f[i].isEmpty()) continue;
            int eq = f[i].indexOf('=');
            if (eq < 0) throw new IllegalArgumentException("expected key=value, got " + f[i]);
            m.put(f[i].substring(0, eq), f[i].substring(eq + 1));
        }
        return m;
    }

    private static void createTopic(String[] f) throws Exception {
        Admin a = admin(f[1]);
        NewTopic t = new NewTopic(f[2], Integer.parseInt(f[3]), Short.parseShort(f[4])).configs(kv(f, 5));
        a.createTopics(List.of(t)).all().get(60, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            try {
                TopicDescription d = a.describeTopics(List.of(f[2])).allTopicNames().get().get(f[2]);
                if (d.partitions().size() == Integer.parseInt(f[3])
                        && d.partitions().stream().allMatch(p -> p.leader() != null && p.leader().id() >= 0)) {
                    // Metadata names a leader a moment before that broker serves the partition
                    // (early Produce requests get NOT_LEADER_OR_FOLLOWER): wait until every
                    // leader answers ListOffsets for its partition.
                    Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                    for (TopicPartitionInfo p : d.partitions()) {
                        latest.put(new TopicPartition(f[2], p.partition()), OffsetSpec.latest());
                    }
                    try {
                        a.listOffsets(latest).all().get(10, TimeUnit.SECONDS);
                        return;
                    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                        // Not served yet: look again.
                    }
                }
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) throw e;
            }
            if (System.nanoTime() > deadline) throw new IllegalStateException("topic " + f[2] + " has no leaders after 60 s");
            Thread.sleep(50);
        }
    }

    private static String csv(List<Node> nodes) {
        StringBuilder b = new StringBuilder();
        for (Node n : nodes) {
            if (b.length() > 0) b.append(',');
            b.append(n.id());
        }
        return b.toString();
    }

    private static ScramMechanism scramMechanism(String name) {
        ScramMechanism m = ScramMechanism.fromMechanismName(name);
        if (m == ScramMechanism.UNKNOWN) throw new IllegalArgumentException("no SCRAM mechanism " + name);
        return m;
    }

    private static void scramUpsert(String[] f) throws Exception {
        ScramCredentialInfo info = new ScramCredentialInfo(scramMechanism(f[3]), 4096);
        admin(f[1]).alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(f[2], info, f[4])))
                .all().get(30, TimeUnit.SECONDS);
    }

    private static void scramDelete(String[] f) throws Exception {
        admin(f[1]).alterUserScramCredentials(List.of(new UserScramCredentialDeletion(f[2], scramMechanism(f[3]))))
                .all().get(30, TimeUnit.SECONDS);
    }

    private static void describe(String[] f, PrintStream out) throws Exception {
        TopicDescription d = admin(f[1]).describeTopics(List.of(f[2])).allTopicNames().get(30, TimeUnit.SECONDS).get(f[2]);
        for (TopicPartitionInfo p : d.partitions()) {
            int leader = p.leader() == null ? -1 : p.leader().id();
            out.println("part\t" + p.partition() + "\t" + leader + "\t" + csv(p.replicas()) + "\t" + csv(p.isr()));
        }
    }

    private static void alterTopic(String[] f) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, f[2]);
        List<AlterConfigOp> ops = new ArrayList<>();
        for (Map.Entry<String, String> e : kv(f, 3).entrySet()) {
            ops.add(new AlterConfigOp(new ConfigEntry(e.getKey(), e.getValue()), AlterConfigOp.OpType.SET));
        }
        admin(f[1]).incrementalAlterConfigs(Map.of(r, ops)).all().get(30, TimeUnit.SECONDS);
    }

    private static void quota(String[] f) throws Exception {
        ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, f[2]));
        List<ClientQuotaAlteration.Op> ops = new ArrayList<>();
        for (Map.Entry<String, String> e : kv(f, 3).entrySet()) {
            Double v = e.getValue().equals("-") ? null : Double.valueOf(e.getValue());
            ops.add(new ClientQuotaAlteration.Op(e.getKey(), v));
        }
        admin(f[1]).alterClientQuotas(List.of(new ClientQuotaAlteration(entity, ops))).all().get(30, TimeUnit.SECONDS);
    }

    private static void reassign(String[] f) throws Exception {
        Admin a = admin(f[1]);
        TopicPartition tp = new TopicPartition(f[2], Integer.parseInt(f[3]));
        List<Integer> replicas = new ArrayList<>();
        for (String s : f[4].split(",")) replicas.add(Integer.parseInt(s));
        a.alterPartitionReassignments(Map.of(tp, Optional.of(new NewPartitionReassignment(replicas))))
                .all().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!a.listPartitionReassignments(Set.of(tp)).reassignments().get().isEmpty()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("reassignment of " + tp + " not done after 60 s");
            Thread.sleep(50);
        }
    }

    private static void electPreferred(String[] f) throws Exception {
        TopicPartition tp = new TopicPartition(f[2], Integer.parseInt(f[3]));
        try {
            admin(f[1]).electLeaders(ElectionType.PREFERRED, Set.of(tp)).partitions().get(30, TimeUnit.SECONDS)
                    .get(tp).ifPresent(e -> { throw new IllegalStateException(e); });
        } catch (IllegalStateException e) {
            if (!(e.getCause() instanceof org.apache.kafka.common.errors.ElectionNotNeededException)) throw e;
        }
    }

    private static void committed(String[] f, PrintStream out) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> m = admin(f[1]).listConsumerGroupOffsets(f[2])
                .partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : m.entrySet()) {
            if (e.getValue() == null) continue;
            String md = e.getValue().metadata();
            out.println("off\t" + e.getKey().topic() + "\t" + e.getKey().partition() + "\t" + e.getValue().offset()
                    + "\t" + (md == null ? "-" : hex(md.getBytes(StandardCharsets.UTF_8))));
        }
    }

    private static void consume(String[] f, PrintStream out) throws Exception {
        String boot = f[1], topic = f[2], isolation = f[3];
        long expected = Long.parseLong(f[4]);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(f[5]));
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, boot);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.CHECK_CRCS_CONFIG, "true");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        List<String> lines = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo pi : c.partitionsFor(topic, Duration.ofSeconds(30))) {
                tps.add(new TopicPartition(topic, pi.partition()));
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            long got = 0;
            while (true) {
                ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(100));
                for (ConsumerRecord<byte[], byte[]> r : recs) {
                    got++;
                    StringBuilder h = new StringBuilder();
                    for (Header hd : r.headers()) {
                        if (h.length() > 0) h.append(',');
                        h.append(hex(hd.key().getBytes(StandardCharsets.UTF_8))).append('=').append(hex(hd.value()));
                    }
                    lines.add("rec\t" + r.partition() + "\t" + r.offset() + "\t" + r.timestamp() + "\t"
                            + r.timestampType().name + "\t" + hex(r.key()) + "\t" + hex(r.value()) + "\t" + h);
                }
                if (got >= expected) {
                    Map<TopicPartition, Long> ends = c.endOffsets(tps, Duration.ofSeconds(10));
                    boolean atEnd = true;
                    for (TopicPartition tp : tps) {
                        if (c.position(tp, Duration.ofSeconds(10)) < ends.get(tp)) atEnd = false;
                    }
                    if (atEnd) break;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("read " + got + " of " + expected + " records from " + topic
                            + " before the deadline");
                }
            }
        }
        for (String l : lines) out.println(l);
    }

    private static String hex(byte[] b) {
        if (b == null) return "-";
        StringBuilder s = new StringBuilder(b.length * 2);
        for (byte x : b) {
            s.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
        }
        return s.toString();
    }
}
